//! A small WebDriver client for the browser tests: ChromeDriver started on a
//! free port, headless Chromium sessions with a fresh profile each, and the
//! handful of commands the tests need (W3C WebDriver, JSON over HTTP).
//!
//! Chromium and ChromeDriver come from Debian (`apt-get install chromium
//! chromium-driver`); `.ci/run` installs them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C key code of Tab, Enter and Space.
pub const TAB: &str = "\u{E004}";
/// Enter.
pub const ENTER: &str = "\u{E007}";
/// Space.
pub const SPACE: &str = "\u{E00D}";
/// The WebDriver id of an element in a JSON answer.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Longest wait for a page or an element.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running ChromeDriver, stopped on drop.
pub struct Driver {
    child: Child,
    url: String,
    agent: ureq::Agent,
    profiles: PathBuf,
}

impl Driver {
    /// Starts ChromeDriver on a free loopback port and waits until it is ready.
    pub fn start() -> Result<Driver> {
        for program in [CHROMIUM, CHROMEDRIVER] {
            if !Path::new(program).exists() {
                bail!("{program} is missing: apt-get install chromium chromium-driver");
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting chromedriver")?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profiles = std::env::temp_dir().join(format!("browser-tests-{}", std::process::id()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            agent,
            profiles,
        };
        let started = Instant::now();
        loop {
            let ready = driver
                .call("GET", "/status", None)
                .is_ok_and(|s| s["ready"] == true);
            if ready {
                return Ok(driver);
            }
            if started.elapsed() > PATIENCE {
                bail!("chromedriver did not become ready");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}{path}", self.url);
        let mut response = match body {
            Some(b) => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(b.to_string())?,
            None if method == "DELETE" => self.agent.delete(&url).call()?,
            None => self.agent.get(&url).call()?,
        };
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string()?;
        let answer: Value = serde_json::from_str(&text).context("a JSON answer")?;
        if status >= 400 {
            bail!("WebDriver {method} {path}: {status} {}", answer["value"]);
        }
        Ok(answer["value"].clone())
    }

    /// A new headless Chromium with a fresh profile; `javascript: false` turns scripts off.
    pub fn session(&self, javascript: bool) -> Result<Session<'_>> {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let profile = self.profiles.join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile)?;
        let mut prefs = json!({});
        if !javascript {
            prefs["profile.managed_default_content_settings.javascript"] = json!(2);
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1024,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": prefs,
            }
        }}});
        let created = self.call("POST", "/session", Some(&capabilities))?;
        let id = created["sessionId"]
            .as_str()
            .context("a session id")?
            .to_string();
        Ok(Session { driver: self, id })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profiles);
    }
}

/// One browser window; closed on drop.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        self.driver.call(
            method,
            &format!("/session/{}{path}", self.id),
            body.as_ref(),
        )
    }

    /// Opens `url` and waits for the page to load.
    pub fn open(&self, url: &str) -> Result<()> {
        self.call("POST", "/url", Some(json!({ "url": url })))?;
        Ok(())
    }

    /// The first element matching `css`, waiting for it to appear.
    pub fn find(&self, css: &str) -> Result<Element> {
        let started = Instant::now();
        loop {
            let found = self.call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            );
            match found {
                Ok(v) => return Ok(Element(v[ELEMENT].as_str().context("element id")?.into())),
                Err(e) if started.elapsed() > PATIENCE => {
                    return Err(e.context(format!("no element {css}")));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Every element matching `css`, now.
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let found = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        )?;
        found
            .as_array()
            .context("elements")?
            .iter()
            .map(|v| {
                v[ELEMENT]
                    .as_str()
                    .map(|id| Element(id.to_string()))
                    .context("element id")
            })
            .collect()
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &Element) -> Result<String> {
        let v = self.call("GET", &format!("/element/{}/text", element.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The current value of a form field.
    pub fn value(&self, element: &Element) -> Result<String> {
        let v = self.call(
            "GET",
            &format!("/element/{}/property/value", element.0),
            None,
        )?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// An attribute of `element`.
    pub fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>> {
        let v = self.call(
            "GET",
            &format!("/element/{}/attribute/{name}", element.0),
            None,
        )?;
        Ok(v.as_str().map(str::to_string))
    }

    /// Waits until the page's `h1` reads `text` (a page load after a submit).
    pub fn wait_for_heading(&self, text: &str) -> Result<String> {
        let started = Instant::now();
        loop {
            let read = self.find_all("h1").and_then(|h| match h.first() {
                Some(h) => self.text(h),
                None => Ok(String::new()),
            });
            let heading = match read {
                Ok(h) => h,
                // The page went away under us (a submit): look again.
                Err(e) if started.elapsed() > PATIENCE => return Err(e),
                Err(_) => String::new(),
            };
            if heading.contains(text) {
                return Ok(heading);
            }
            if started.elapsed() > PATIENCE {
                let url = self.call("GET", "/url", None).unwrap_or_default();
                let source = self.call("GET", "/source", None).unwrap_or_default();
                let source: String = source.as_str().unwrap_or("").chars().take(600).collect();
                bail!("the heading stayed {heading:?}, expected {text:?}; at {url}: {source}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The text of the whole page.
    pub fn page_text(&self) -> Result<String> {
        let body = self.find("body")?;
        self.text(&body)
    }

    /// Clicks `element`.
    pub fn click(&self, element: &Element) -> Result<()> {
        self.call(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )?;
        Ok(())
    }

    /// Types `keys` into whatever has the focus, as a keyboard would.
    pub fn keys(&self, keys: &str) -> Result<()> {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": key.to_string()}));
            actions.push(json!({"type": "keyUp", "value": key.to_string()}));
        }
        self.call(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )?;
        Ok(())
    }

    /// The `name` (or `id`) of the focused element, and its tag.
    pub fn focused(&self) -> Result<(String, String)> {
        let element = self.call("GET", "/element/active", None)?;
        let element = Element(element[ELEMENT].as_str().context("active element")?.into());
        let name = self
            .attribute(&element, "name")?
            .or(self.attribute(&element, "id")?)
            .unwrap_or_default();
        let tag = self.call("GET", &format!("/element/{}/name", element.0), None)?;
        Ok((name, tag.as_str().unwrap_or_default().to_string()))
    }

    /// Whether pages' scripts run: a page whose script would retitle it is
    /// opened and its title read. (WebDriver's own script execution works
    /// even with page scripts off, so it cannot tell.)
    pub fn scripts_run(&self) -> Result<bool> {
        self.open("data:text/html,<title>off</title><script>document.title='on'</script>")?;
        let title = self.call("GET", "/title", None)?;
        Ok(title == json!("on"))
    }

    /// Saves a PNG of the window to `target/browser-screenshots/<name>.png`.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.call("GET", "/screenshot", None)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().context("screenshot data")?)?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes)?;
        Ok(path)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.call("DELETE", "", None);
    }
}
