//! Browser tests' plumbing: a ChromeDriver process on a free loopback port,
//! shared by the tests of one binary, and [`Browser`], one headless Chromium
//! session with a fresh profile, driven through the W3C WebDriver protocol
//! with [`fantoccini`].
//!
//! fantoccini is asynchronous; [`Browser`] wraps the few commands the tests
//! use in blocking calls on its own small runtime, so a test can mix them
//! freely with the blocking client of the end-to-end tests' `Harness`.
//!
//! Chromium and ChromeDriver are the Debian packages `chromium` and
//! `chromium-driver` (`/usr/bin/chromium`, `/usr/bin/chromedriver`); `.ci/run`
//! installs them. Without them [`Browser::start`] fails saying so.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

pub use fantoccini::key::Key;

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts ChromeDriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The longest wait for ChromeDriver, a page, an element or a heading.
pub const PATIENCE: Duration = Duration::from_secs(30);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);
/// Width of every window, and the height screenshots start from.
const WINDOW: (u32, u32) = (1024, 768);

/// Fails with what to install if the browser or its driver is missing.
pub fn require_chromium() -> Result<()> {
    require(&[CHROMIUM, CHROMEDRIVER])
}

fn require(programs: &[&str]) -> Result<()> {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the browser tests need Chromium and ChromeDriver, and {} {} missing: \
             install them with `apt-get install chromium chromium-driver` (CI's .ci/run does)",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" }
        );
    }
    Ok(())
}

/// A running ChromeDriver on a free loopback port. Dropping it asks
/// ChromeDriver to shut down (which quits any browser left open), then kills
/// it if it has not gone within a few seconds.
pub struct ChromeDriver {
    child: Child,
    port: u16,
    /// Holds ChromeDriver's log, read into error messages.
    dir: tempfile::TempDir,
}

/// The ChromeDriver the tests of this process share, while any test uses it.
static SHARED: Mutex<Weak<ChromeDriver>> = Mutex::new(Weak::new());

impl ChromeDriver {
    /// The ChromeDriver of this test binary: the running one if a test still
    /// holds it, else a new one. The last holder's drop stops it, so nothing
    /// outlives the tests.
    pub fn shared() -> Result<Arc<ChromeDriver>> {
        let mut slot = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(driver) = slot.upgrade() {
            return Ok(driver);
        }
        let driver = Arc::new(ChromeDriver::start()?);
        *slot = Arc::downgrade(&driver);
        Ok(driver)
    }

    /// Starts a ChromeDriver of its own and waits until it is ready.
    pub fn start() -> Result<ChromeDriver> {
        require_chromium()?;
        // The port is free when chosen but could be taken before ChromeDriver
        // binds it; then ChromeDriver exits and another port is tried.
        let mut last_error = anyhow!("no attempt");
        for _ in 0..3 {
            let dir = tempfile::Builder::new()
                .prefix("chromedriver-")
                .tempdir()
                .context("a temporary directory for ChromeDriver's log")?;
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .context("a free loopback port")?
                .port();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .arg(format!(
                    "--log-path={}",
                    dir.path().join("chromedriver.log").display()
                ))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {CHROMEDRIVER}"))?;
            let mut driver = ChromeDriver { child, port, dir };
            match driver.wait_ready() {
                Ok(()) => return Ok(driver),
                // Dropping `driver` stops the process.
                Err(e) => last_error = e,
            }
        }
        Err(last_error.context("ChromeDriver did not start"))
    }

    fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "ChromeDriver exited with {status} on port {}; its log:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            if self
                .get("/status")
                .is_ok_and(|status| status["value"]["ready"] == true)
            {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                bail!(
                    "ChromeDriver was not ready on port {} after {PATIENCE:?}; its log:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// A plain `GET` to ChromeDriver (for `/status` and `/shutdown`, before
    /// and after there is any session).
    fn get(&self, path: &str) -> Result<Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
            self.port
        )?;
        // ChromeDriver keeps the connection open whatever the request says,
        // so the answer ends where its Content-Length says.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if body.len() >= length {
                    return Ok(serde_json::from_str(body).unwrap_or(Value::Null));
                }
            }
        }
        bail!("ChromeDriver closed the connection mid-answer")
    }

    /// ChromeDriver's WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The last lines of ChromeDriver's log, for error messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("chromedriver.log"))
            .unwrap_or_else(|e| format!("(no log: {e})"));
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.get("/shutdown");
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether pages may run scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaScript {
    /// Chromium's default.
    On,
    /// Scripts blocked for every site (the content setting an administrator would set).
    Off,
}

/// One headless Chromium with a fresh profile, as one WebDriver session.
/// Dropping it ends the session and deletes the profile.
pub struct Browser {
    client: Option<Client>,
    runtime: tokio::runtime::Runtime,
    driver: Arc<ChromeDriver>,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new session on the shared ChromeDriver.
    pub fn start(javascript: JavaScript) -> Result<Browser> {
        Browser::start_in(javascript, None)
    }

    /// A session whose `Accept-Language` is `languages` (such as `de-DE,de`),
    /// else Chromium's default.
    pub fn start_in(javascript: JavaScript, languages: Option<&str>) -> Result<Browser> {
        let driver = ChromeDriver::shared()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("a runtime for the WebDriver client")?;
        let profile = tempfile::Builder::new()
            .prefix("chromium-profile-")
            .tempdir()
            .context("a temporary Chromium profile")?;
        let mut options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        let mut prefs = serde_json::Map::new();
        if javascript == JavaScript::Off {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        if let Some(languages) = languages {
            prefs.insert("intl.accept_languages".into(), json!(languages));
        }
        if !prefs.is_empty() {
            options["prefs"] = prefs.into();
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = runtime
            .block_on(
                ClientBuilder::new(connector)
                    .capabilities(capabilities)
                    .connect(&driver.url()),
            )
            .map_err(|e| {
                anyhow!(
                    "Chromium did not start a session: {e}\nChromeDriver's log:\n{}",
                    driver.log_tail()
                )
            })?;
        Ok(Browser {
            client: Some(client),
            runtime,
            driver,
            _profile: profile,
        })
    }

    fn client(&self) -> &Client {
        self.client
            .as_ref()
            .expect("the session is open until drop")
    }

    fn run<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
    ) -> Result<T> {
        self.runtime
            .block_on(f)
            .map_err(|e| anyhow!("WebDriver {what}: {e}"))
    }

    /// Opens `url` and returns once the page has loaded.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.run(&format!("open {url}"), self.client().goto(url))
    }

    /// The address of the page shown.
    pub fn current_url(&self) -> Result<String> {
        Ok(self
            .run("current url", self.client().current_url())?
            .to_string())
    }

    /// The page's `<title>`.
    pub fn title(&self) -> Result<String> {
        self.run("title", self.client().title())
    }

    /// The first element matching `css`, waiting up to [`PATIENCE`] for it.
    pub fn wait_for(&self, css: &str) -> Result<Element> {
        let wait = self
            .client()
            .wait()
            .at_most(PATIENCE)
            .every(POLL)
            .for_element(Locator::Css(css));
        self.runtime
            .block_on(wait)
            .map_err(|e| anyhow!("no element `{css}` within {PATIENCE:?}: {e}"))
    }

    /// Every element matching `css` now (none is not an error).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        self.run(
            &format!("find all `{css}`"),
            self.client().find_all(Locator::Css(css)),
        )
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &Element) -> Result<String> {
        self.run("element text", element.text())
    }

    /// The rendered text of each element matching `css`.
    pub fn texts(&self, css: &str) -> Result<Vec<String>> {
        self.find_all(css)?.iter().map(|e| self.text(e)).collect()
    }

    /// The current value of a form field (what the user sees in it).
    pub fn value(&self, element: &Element) -> Result<String> {
        Ok(self
            .run("value", element.prop("value"))?
            .unwrap_or_default())
    }

    /// An attribute of `element`, as written in the page.
    pub fn attr(&self, element: &Element, name: &str) -> Result<Option<String>> {
        self.run(&format!("attribute {name}"), element.attr(name))
    }

    /// The accessible name of `element` as Chromium computes it for
    /// assistive technology (WebDriver "Get Computed Label").
    pub fn accessible_name(&self, element: &Element) -> Result<String> {
        self.element_query(element, "computedlabel")
    }

    /// The ARIA role of `element` as Chromium computes it (WebDriver "Get Computed Role").
    pub fn role(&self, element: &Element) -> Result<String> {
        self.element_query(element, "computedrole")
    }

    fn element_query(&self, element: &Element, what: &'static str) -> Result<String> {
        let command = ElementQuery {
            element: element.element_id().to_string(),
            what,
        };
        let value = self.run(what, self.client().issue_cmd(command))?;
        Ok(value.as_str().unwrap_or_default().to_string())
    }

    /// The whole page's rendered text.
    pub fn page_text(&self) -> Result<String> {
        let body = self.wait_for("body")?;
        self.text(&body)
    }

    /// The element with the keyboard focus.
    pub fn focused(&self) -> Result<Element> {
        self.run("active element", self.client().active_element())
    }

    /// A short description of `element` for messages: `input[name=city]`,
    /// `button "Approve"`, `body`.
    pub fn describe(&self, element: &Element) -> Result<String> {
        let tag = self.run("tag name", element.tag_name())?.to_lowercase();
        if let Some(name) = self.attr(element, "name")? {
            return Ok(format!("{tag}[name={name}]"));
        }
        if tag == "button" {
            return Ok(format!("button {:?}", self.text(element)?));
        }
        Ok(tag)
    }

    /// What has the focus, described as by [`Browser::describe`].
    pub fn focused_description(&self) -> Result<String> {
        let element = self.focused()?;
        self.describe(&element)
    }

    /// Presses and releases each key in turn, on whatever has the focus, as
    /// a keyboard does (no element is targeted, nothing is clicked).
    pub fn press(&self, keys: &[Key]) -> Result<()> {
        let chars: Vec<char> = keys.iter().map(|k| char::from(*k)).collect();
        self.key_actions(
            chars
                .into_iter()
                .flat_map(|c| [KeyAction::Down { value: c }, KeyAction::Up { value: c }]),
        )
    }

    /// Holds `modifier` while pressing `key` (Shift+Tab, Control+A).
    pub fn chord(&self, modifier: Key, key: char) -> Result<()> {
        let m = char::from(modifier);
        self.key_actions([
            KeyAction::Down { value: m },
            KeyAction::Down { value: key },
            KeyAction::Up { value: key },
            KeyAction::Up { value: m },
        ])
    }

    /// Types `text` into whatever has the focus, key by key.
    pub fn type_text(&self, text: &str) -> Result<()> {
        self.key_actions(
            text.chars()
                .flat_map(|c| [KeyAction::Down { value: c }, KeyAction::Up { value: c }]),
        )
    }

    fn key_actions(&self, actions: impl IntoIterator<Item = KeyAction>) -> Result<()> {
        let sequence = actions
            .into_iter()
            .fold(KeyActions::new("keyboard".into()), |s, a| s.then(a));
        self.run("key actions", self.client().perform_actions(sequence))?;
        self.run("release keys", self.client().release_actions())
    }

    /// Replaces the text of the focused field: select all, then type.
    pub fn retype(&self, text: &str) -> Result<()> {
        self.chord(Key::Control, 'a')?;
        self.type_text(text)
    }

    /// Types into `element` through WebDriver's element command (focuses it first).
    pub fn send_keys(&self, element: &Element, text: &str) -> Result<()> {
        self.run("send keys", element.send_keys(text))
    }

    /// Empties a form field.
    pub fn clear(&self, element: &Element) -> Result<()> {
        self.run("clear", element.clear())
    }

    /// Clicks `element` (a pointer, for the tests that are not about the keyboard).
    pub fn click(&self, element: &Element) -> Result<()> {
        self.run("click", element.click())
    }

    /// Waits until the page's first `h1` contains `text` (for example a new
    /// page after a submit) and returns the heading.
    pub fn wait_for_heading(&self, text: &str) -> Result<String> {
        let started = Instant::now();
        loop {
            // Between a submit and the next page the old elements go stale
            // and the new ones are not there yet: those errors mean "not yet".
            let heading = self
                .find_all("h1")
                .and_then(|h| match h.first() {
                    Some(h) => self.text(h),
                    None => Ok(String::new()),
                })
                .unwrap_or_default();
            if heading.contains(text) {
                return Ok(heading);
            }
            if started.elapsed() > PATIENCE {
                let url = self.current_url().unwrap_or_default();
                let page: String = self
                    .page_text()
                    .unwrap_or_default()
                    .chars()
                    .take(800)
                    .collect();
                bail!(
                    "no heading with {text:?} within {PATIENCE:?}: the heading is {heading:?} \
                     at {url}; the page reads:\n{page}"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits up to [`PATIENCE`] until `ready` says yes; its errors mean "not
    /// yet" (for example an element of the previous page gone stale).
    pub fn wait_until(&self, what: &str, mut ready: impl FnMut() -> Result<bool>) -> Result<()> {
        let started = Instant::now();
        loop {
            let last = match ready() {
                Ok(true) => return Ok(()),
                Ok(false) => "not yet".to_string(),
                Err(e) => format!("{e:#}"),
            };
            if started.elapsed() > PATIENCE {
                bail!("waited {PATIENCE:?} for {what}: {last}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether the pages' own scripts run: a page whose script retitles it is
    /// opened and its title read. (WebDriver's script command cannot tell:
    /// it runs even where pages' scripts are blocked.)
    pub fn page_scripts_run(&self) -> Result<bool> {
        self.goto("data:text/html,<title>off</title><script>document.title='on'</script>")?;
        Ok(self.title()? == "on")
    }

    /// Saves a PNG of the whole page to `target/browser-screenshots/<name>.png`
    /// and returns its path. The window is made as tall as the page for the
    /// picture, then put back.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let client = self.client();
        // WebDriver's script command runs even where page scripts are off.
        // The window's height is the page's plus the browser's own frame.
        let sizes = self.run(
            "page height",
            client.execute(
                "const d = document.documentElement;\
                 return [Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0),\
                         window.outerHeight - window.innerHeight];",
                vec![],
            ),
        )?;
        let px = |i: usize| {
            sizes[i]
                .as_f64()
                .map_or(0, |v| v.clamp(0.0, 20_000.0) as u32)
        };
        let height = px(0) + px(1);
        let tall = height > WINDOW.1;
        if tall {
            self.run("resize", client.set_window_size(WINDOW.0, height))?;
        }
        let png = self.run("screenshot", client.screenshot());
        if tall {
            self.run("resize back", client.set_window_size(WINDOW.0, WINDOW.1))?;
        }
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png?).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// ChromeDriver's recent log, for failure messages.
    pub fn driver_log(&self) -> String {
        self.driver.log_tail()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
    }
}

/// Where screenshots go: `browser-screenshots/` in the workspace's target
/// directory (`CARGO_TARGET_DIR` if set).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("browser-screenshots")
}

/// `GET /session/{id}/element/{element}/{what}`: the element commands
/// fantoccini has no method for (computed label and role).
#[derive(Debug)]
struct ElementQuery {
    element: String,
    what: &'static str,
}

impl WebDriverCompatibleCommand for ElementQuery {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/element/{}/{}",
            session_id.unwrap_or_default(),
            self.element,
            self.what
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_is_named_with_the_packages_to_install() {
        let e = require(&["/nonexistent/chromium", "/nonexistent/chromedriver"])
            .expect_err("missing programs fail");
        let said = e.to_string();
        assert!(
            said.contains("/nonexistent/chromium and /nonexistent/chromedriver are missing"),
            "{said}"
        );
        assert!(
            said.contains("apt-get install chromium chromium-driver"),
            "{said}"
        );
        assert!(require(&[]).is_ok());
    }
}
