//! Application variables, resolved as Spin does: `SPIN_VARIABLE_<NAME>` from
//! the environment, then `--variable name=value`, then the default; a
//! required variable without a value stops the start. Component variables and
//! outbound hosts are `{{ name }}` templates over them.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::manifest::Manifest;

/// The names a template refers to.
pub fn references(template: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed {{{{ in {template:?}");
        };
        let name = after[..end].trim();
        if name.is_empty() {
            bail!("empty {{{{ }}}} in {template:?}");
        }
        out.push(name.to_string());
        rest = &after[end + 2..];
    }
    Ok(out)
}

/// Expands `{{ name }}` in `template` from `values`.
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unclosed {{{{ in {template:?}");
        };
        let name = after[..end].trim();
        match values.get(name) {
            Some(v) => out.push_str(v),
            None => bail!("variable {name} has no value"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves every application variable; `overrides` are `--variable` values.
pub fn resolve(
    manifest: &Manifest,
    overrides: &BTreeMap<String, String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>> {
    for name in overrides.keys() {
        if !manifest.variables.contains_key(name) {
            bail!("--variable {name}: the manifest declares no such variable");
        }
    }
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, declared) in &manifest.variables {
        let from_env = env(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()));
        match overrides
            .get(name)
            .cloned()
            .or(from_env)
            .or_else(|| declared.default.clone())
        {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None => missing.push(name.clone()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "required variable{} {} not set: pass --variable {}=... or set SPIN_VARIABLE_{}",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            missing[0],
            missing[0].to_ascii_uppercase()
        );
    }
    Ok(values)
}

/// A component's variables with templates expanded.
pub fn component_values(
    manifest: &Manifest,
    component: &str,
    app_values: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let Some(c) = manifest.components.get(component) else {
        bail!("no component {component}");
    };
    c.variables
        .iter()
        .map(|(k, v)| Ok((k.clone(), expand(v, app_values)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand() {
        let values = BTreeMap::from([("host".to_string(), "example.com".to_string())]);
        assert_eq!(
            expand("https://{{ host }}/x", &values).expect("ok"),
            "https://example.com/x"
        );
        assert!(expand("{{ nope }}", &values).is_err());
        assert_eq!(references("{{a}} and {{ b }}").expect("ok"), ["a", "b"]);
        assert!(references("{{ a").is_err());
    }
}
