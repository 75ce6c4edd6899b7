//! `spin.toml` (manifest version 2): the parts a local host needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;

/// An application variable declared under `[variables]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Value when none is supplied.
    pub default: Option<String>,
    /// Whether a value must be supplied.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is sensitive (never printed).
    #[serde(default)]
    pub secret: bool,
    /// What the variable is for.
    pub description: Option<String>,
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Build {
    /// The command `spin build` runs.
    pub command: String,
    /// Where it runs, relative to the manifest.
    pub workdir: Option<String>,
    /// Files whose changes call for a rebuild.
    #[serde(default)]
    pub watch: Vec<String>,
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
pub struct Component {
    /// The `.wasm` file, relative to the manifest.
    pub source: String,
    /// What it is.
    pub description: Option<String>,
    /// Key-value store labels it may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// Where it may send requests (may hold `{{ variable }}` templates).
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Its variables (values may hold templates).
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How to build it.
    pub build: Option<Build>,
}

/// One `[[trigger.http]]`.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpTrigger {
    /// The route: exact, with `:name` segments, or ending in `/...`.
    pub route: String,
    /// The component id.
    pub component: String,
}

#[derive(Debug, Deserialize)]
struct Triggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
struct Application {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Raw {
    spin_manifest_version: toml::Value,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, Variable>,
    trigger: Triggers,
    component: BTreeMap<String, Component>,
}

/// A loaded manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The directory `source` and `workdir` paths are relative to.
    pub dir: PathBuf,
    /// The application name.
    pub name: String,
    /// Application variables.
    pub variables: BTreeMap<String, Variable>,
    /// HTTP routes in manifest order.
    pub triggers: Vec<HttpTrigger>,
    /// Components by id.
    pub components: BTreeMap<String, Component>,
}

impl Manifest {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Manifest::parse(&text, dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; `dir` is where relative paths start.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Manifest> {
        let raw: Raw = toml::from_str(text).map_err(|e| anyhow!("{e}"))?;
        if raw.spin_manifest_version.as_integer() != Some(2)
            && raw.spin_manifest_version.as_str() != Some("2")
        {
            bail!("spin_manifest_version: only version 2 is supported");
        }
        for (name, v) in &raw.variables {
            if !valid_variable_name(name) {
                bail!(
                    "variables.{name}: names are lower case letters, digits and underscores, starting with a letter"
                );
            }
            if v.default.is_none() && !v.required {
                bail!("variables.{name}: give a default or set required = true");
            }
            if v.default.is_some() && v.required {
                bail!("variables.{name}: a required variable cannot have a default");
            }
        }
        for (i, t) in raw.trigger.http.iter().enumerate() {
            if !t.route.starts_with('/') {
                bail!("trigger.http[{i}].route: {:?} must start with /", t.route);
            }
            if !raw.component.contains_key(&t.component) {
                bail!(
                    "trigger.http[{i}].component: no component {:?}",
                    t.component
                );
            }
        }
        for (id, c) in &raw.component {
            for (name, value) in &c.variables {
                if !valid_variable_name(name) {
                    bail!("component.{id}.variables.{name}: invalid variable name");
                }
                for reference in crate::variables::references(value)
                    .with_context(|| format!("component.{id}.variables.{name}"))?
                {
                    if !raw.variables.contains_key(&reference) {
                        bail!(
                            "component.{id}.variables.{name}: refers to undeclared variable {reference}"
                        );
                    }
                }
            }
            for host in &c.allowed_outbound_hosts {
                for reference in crate::variables::references(host)
                    .with_context(|| format!("component.{id}.allowed_outbound_hosts"))?
                {
                    if !raw.variables.contains_key(&reference) {
                        bail!(
                            "component.{id}.allowed_outbound_hosts: refers to undeclared variable {reference}"
                        );
                    }
                }
            }
        }
        if raw.application.name.trim().is_empty() {
            bail!("application.name: must not be empty");
        }
        Ok(Manifest {
            dir,
            name: raw.application.name,
            variables: raw.variables,
            triggers: raw.trigger.http,
            components: raw.component,
        })
    }

    /// The `.wasm` path of component `id`.
    pub fn source_path(&self, id: &str) -> Option<PathBuf> {
        self.components.get(id).map(|c| self.dir.join(&c.source))
    }
}

fn valid_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
spin_manifest_version = 2
[application]
name = "app"
[variables]
token = { required = true, secret = true }
host = { default = "https://example.com" }
[[trigger.http]]
route = "/a/..."
component = "a"
[component.a]
source = "a.wasm"
key_value_stores = ["default"]
allowed_outbound_hosts = ["{{ host }}"]
[component.a.variables]
token = "{{ token }}"
"#;

    #[test]
    fn parses_a_manifest() {
        let m = Manifest::parse(GOOD, PathBuf::from("/app")).expect("valid");
        assert_eq!(m.triggers[0].route, "/a/...");
        assert_eq!(m.source_path("a"), Some(PathBuf::from("/app/a.wasm")));
        assert!(m.variables["token"].secret);
    }

    #[test]
    fn errors_name_the_field() {
        let e = |text: &str| {
            format!(
                "{:#}",
                Manifest::parse(text, PathBuf::new()).expect_err("invalid")
            )
        };
        assert!(
            e(&GOOD.replace("component = \"a\"", "component = \"b\""))
                .contains("trigger.http[0].component")
        );
        assert!(
            e(&GOOD.replace("{{ token }}", "{{ nope }}")).contains("component.a.variables.token")
        );
        assert!(e(&GOOD.replace("required = true, secret", "secret")).contains("variables.token"));
        assert!(
            e(&GOOD.replace("spin_manifest_version = 2", "spin_manifest_version = 1"))
                .contains("spin_manifest_version")
        );
        assert!(e(&GOOD.replace("route = \"/a/...\"", "route = \"a\"")).contains("route"));
    }
}
