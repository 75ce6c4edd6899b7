//! The files in `deploy/` parse, and agree with `spin.toml`: every variable is
//! bound, secrets come from the Secret that exists, the key-value store is on
//! Redis, and the guide names only files that exist.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every YAML document in `path`.
fn yaml(path: &str) -> Vec<Value> {
    let text = read(path);
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{path}: {e}")))
        .collect()
}

fn spin_toml() -> toml::Table {
    read("spin.toml").parse().expect("spin.toml parses")
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(*key))
        .and_then(Value::as_str)
}

fn spinapp() -> Value {
    let docs = yaml("deploy/kubernetes/spinapp.yaml");
    assert_eq!(docs.len(), 1, "one SpinApp");
    docs.into_iter().next().expect("a document")
}

fn secret() -> Value {
    let docs = yaml("deploy/kubernetes/secret.yaml");
    assert_eq!(docs.len(), 1, "one Secret");
    docs.into_iter().next().expect("a document")
}

#[test]
fn the_spinapp_runs_the_image_on_spin_with_several_replicas() {
    let app = spinapp();
    assert_eq!(
        str_at(&app, &["apiVersion"]),
        Some("core.spinkube.dev/v1alpha1")
    );
    assert_eq!(str_at(&app, &["kind"]), Some("SpinApp"));
    assert_eq!(
        str_at(&app, &["spec", "executor"]),
        Some("containerd-shim-spin")
    );
    let image = str_at(&app, &["spec", "image"]).expect("an image");
    assert!(image.contains("partner-invites:"), "{image}");
    let replicas = app["spec"]["replicas"].as_u64().expect("replicas");
    assert!(
        replicas >= 2,
        "more than one replica, sharing the Redis store"
    );
    for probe in ["readiness", "liveness"] {
        let path = str_at(&app, &["spec", "checks", probe, "httpGet", "path"]).expect(probe);
        let route = spin_toml()["trigger"]["http"]
            .as_array()
            .expect("routes")
            .iter()
            .any(|t| t["route"].as_str() == Some(path));
        assert!(route, "{probe} probe {path} is a route in spin.toml");
    }
}

#[test]
fn every_spin_variable_is_bound_and_secrets_come_from_the_secret() {
    let app = spinapp();
    let secret = secret();
    assert_eq!(str_at(&secret, &["kind"]), Some("Secret"));
    let secret_name = str_at(&secret, &["metadata", "name"]).expect("secret name");
    let secret_keys: BTreeSet<&str> = secret["stringData"]
        .as_mapping()
        .expect("stringData")
        .keys()
        .filter_map(Value::as_str)
        .collect();

    let bound = app["spec"]["variables"].as_sequence().expect("variables");
    let spin = spin_toml();
    let declared = spin["variables"].as_table().expect("[variables]");
    for (name, decl) in declared {
        let binding = bound
            .iter()
            .find(|b| str_at(b, &["name"]) == Some(name.as_str()))
            .unwrap_or_else(|| panic!("variable {name} is not bound in the SpinApp"));
        let must_be_secret = decl.get("secret").and_then(toml::Value::as_bool) == Some(true)
            || decl.get("required").and_then(toml::Value::as_bool) == Some(true);
        let from_secret = binding.get("valueFrom").map(|v| &v["secretKeyRef"]);
        if must_be_secret {
            let reference = from_secret.unwrap_or_else(|| panic!("{name} must come from a Secret"));
            assert!(
                binding.get("value").is_none(),
                "{name} has a plain value too"
            );
            assert_eq!(str_at(reference, &["name"]), Some(secret_name), "{name}");
        }
        if let Some(reference) = from_secret {
            let key = str_at(reference, &["key"]).expect("secret key");
            assert!(
                secret_keys.contains(key),
                "{name}: the Secret has no key {key}"
            );
        }
    }
    for binding in bound {
        let name = str_at(binding, &["name"]).expect("name");
        assert!(
            declared.contains_key(name),
            "{name} is not a variable of spin.toml"
        );
    }
}

#[test]
fn the_default_store_is_redis_in_the_runtime_config_and_the_spinapp() {
    let config: toml::Table = read("deploy/runtime-config.toml")
        .parse()
        .expect("runtime-config.toml parses");
    let stores = config["key_value_store"]
        .as_table()
        .expect("[key_value_store]");
    let spin = spin_toml();
    let used: BTreeSet<&str> = spin["component"]
        .as_table()
        .expect("components")
        .values()
        .flat_map(|c| {
            c.get("key_value_stores")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
        })
        .collect();
    assert!(used.contains("default"));
    let app = spinapp();
    let bound = app["spec"]["runtimeConfig"]["keyValueStores"]
        .as_sequence()
        .expect("runtimeConfig.keyValueStores");
    let secret = secret();
    for label in used {
        let store = stores[label]
            .as_table()
            .unwrap_or_else(|| panic!("{label}"));
        assert_eq!(store["type"].as_str(), Some("redis"), "{label}");
        assert!(
            store["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("redis://"))
        );

        let store = bound
            .iter()
            .find(|s| str_at(s, &["name"]) == Some(label))
            .unwrap_or_else(|| panic!("store {label} is not bound in the SpinApp"));
        assert_eq!(str_at(store, &["type"]), Some("redis"));
        let url = store["options"]
            .as_sequence()
            .expect("options")
            .iter()
            .find(|o| str_at(o, &["name"]) == Some("url"))
            .expect("a url option");
        let key = str_at(url, &["valueFrom", "secretKeyRef", "key"]).expect("url from the Secret");
        assert!(
            secret["stringData"].get(key).is_some(),
            "the Secret has {key}"
        );
    }
}

#[test]
fn the_trial_redis_is_a_deployment_and_a_service() {
    let kinds: Vec<String> = yaml("deploy/kubernetes/redis.yaml")
        .iter()
        .filter_map(|d| str_at(d, &["kind"]).map(str::to_string))
        .collect();
    assert_eq!(kinds, ["Deployment", "Service"]);
}

#[test]
fn the_guide_names_only_files_that_exist() {
    let guide = read("deploy/README.md");
    let mentioned: BTreeSet<&str> = guide
        .split(|c: char| c == '`' || c.is_whitespace())
        .filter(|w| w.starts_with("deploy/"))
        .collect();
    assert!(mentioned.len() >= 4, "{mentioned:?}");
    for path in mentioned {
        assert!(root().join(path).is_file(), "deploy/README.md names {path}");
    }
}
