//! The files in `deploy/` parse, and agree with `spin.toml`: every variable is
//! bound, secrets come from the Secret that exists, the key-value store is on
//! Redis, and the guide names only files that exist.
//!
//! Two Kubernetes paths are checked: the SpinKube `SpinApp` (spinapp.yaml) and
//! the plain `Deployment` that runs the Spin CLI (deployment.yaml, with its
//! Service, HorizontalPodAutoscaler and the runtime config Secret).

use std::collections::{BTreeMap, BTreeSet};
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
fn the_edge_ingress_limits_per_address_and_routes_to_the_service() {
    let file = "deploy/kubernetes/ingress.yaml";
    let docs = yaml(file);
    let ingress = one_of(&docs, "Ingress", file);
    let limit = str_at(
        ingress,
        &[
            "metadata",
            "annotations",
            "nginx.ingress.kubernetes.io/limit-rps",
        ],
    );
    assert!(
        limit
            .and_then(|l| l.parse::<u32>().ok())
            .is_some_and(|l| l > 0),
        "{file}: page views and API reads are limited at the edge: {limit:?}"
    );
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    let deployment = deployment_docs();
    let service = one_of(&deployment, "Service", DEPLOYMENT_FILE);
    assert_eq!(
        str_at(backend, &["name"]),
        str_at(service, &["metadata", "name"])
    );
    assert_eq!(
        str_at(backend, &["port", "name"]),
        str_at(&service["spec"]["ports"][0], &["name"])
    );
}

/// The lowest Spin that runs these components (WASIp3, `wasi:http@0.3.0`).
const MIN_SPIN: (u64, u64, u64) = (4, 1, 0);

/// The official Spin CLI image; its tags are the release tags (`v4.1.0`,
/// `v4.1.0-distroless`).
const SPIN_IMAGE: &str = "ghcr.io/spinframework/spin:";

const DEPLOYMENT_FILE: &str = "deploy/kubernetes/deployment.yaml";

/// The files holding Secret manifests, for both paths.
const SECRET_FILES: [&str; 2] = [
    "deploy/kubernetes/secret.yaml",
    "deploy/kubernetes/runtime-config-secret.yaml",
];

/// The one document of `kind` in `docs`.
fn one_of<'a>(docs: &'a [Value], kind: &str, file: &str) -> &'a Value {
    let found: Vec<&Value> = docs
        .iter()
        .filter(|d| str_at(d, &["kind"]) == Some(kind))
        .collect();
    assert_eq!(found.len(), 1, "{file} must hold exactly one {kind}");
    found[0]
}

fn deployment_docs() -> Vec<Value> {
    yaml(DEPLOYMENT_FILE)
}

/// The one container of the Deployment's pod.
fn spin_container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .expect("the Deployment has spec.template.spec.containers");
    assert_eq!(
        containers.len(),
        1,
        "the Deployment's pod runs one container, Spin"
    );
    &containers[0]
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The value of `--flag value` or `--flag=value` in `args`; it must occur once.
fn flag<'a>(args: &[&'a str], names: &[&str]) -> Option<&'a str> {
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        for name in names {
            if arg == name {
                found.push(args.get(i + 1).copied().unwrap_or(""));
            } else if let Some(value) = arg.strip_prefix(&format!("{name}=")) {
                found.push(value);
            }
        }
    }
    assert!(
        found.len() <= 1,
        "{names:?} is given more than once: {args:?}"
    );
    found.into_iter().next()
}

/// Secret name -> its keys, over every Secret manifest that is shipped.
fn shipped_secrets() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut secrets = BTreeMap::new();
    for file in SECRET_FILES {
        for doc in yaml(file) {
            assert_eq!(
                str_at(&doc, &["kind"]),
                Some("Secret"),
                "{file} holds only Secrets"
            );
            let name = str_at(&doc, &["metadata", "name"])
                .unwrap_or_else(|| panic!("a Secret in {file} has no metadata.name"))
                .to_string();
            let mut keys = BTreeMap::new();
            for field in ["stringData", "data"] {
                if let Some(map) = doc.get(field).and_then(Value::as_mapping) {
                    for (k, v) in map {
                        let k = k.as_str().expect("Secret keys are strings");
                        keys.insert(k.to_string(), v.as_str().unwrap_or("").to_string());
                    }
                }
            }
            assert!(
                secrets.insert(name.clone(), keys).is_none(),
                "Secret {name} is defined twice"
            );
        }
    }
    secrets
}

/// The variables of spin.toml: name -> declared `secret = true`.
fn spin_variables() -> BTreeMap<String, bool> {
    spin_toml()["variables"]
        .as_table()
        .expect("[variables]")
        .iter()
        .map(|(name, decl)| {
            let secret = decl.get("secret").and_then(toml::Value::as_bool) == Some(true);
            (name.clone(), secret)
        })
        .collect()
}

fn routes() -> BTreeSet<String> {
    spin_toml()["trigger"]["http"]
        .as_array()
        .expect("[[trigger.http]]")
        .iter()
        .filter_map(|t| t["route"].as_str().map(str::to_string))
        .collect()
}

/// The key-value store labels the components use.
fn store_labels() -> BTreeSet<String> {
    spin_toml()["component"]
        .as_table()
        .expect("components")
        .values()
        .flat_map(|c| {
            c.get("key_value_stores")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(toml::Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// `(major, minor, patch)` of a tag such as `v4.1.0` or `v4.1.0-distroless`.
fn release(tag: &str) -> Option<(u64, u64, u64)> {
    let version = tag.strip_prefix('v')?.split('-').next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let version = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(version)
}

/// Whether a probe's or a Service's port names `container`'s port.
fn is_container_port(port: &Value, container: &Value) -> bool {
    container["ports"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|p| match (port.as_str(), port.as_u64()) {
            (Some(name), _) => str_at(p, &["name"]) == Some(name),
            (_, Some(number)) => p["containerPort"].as_u64() == Some(number),
            _ => false,
        })
}

/// The pod volume mounted at `mount_path` in `container`, if any.
fn volume_at<'a>(deployment: &'a Value, container: &Value, mount_path: &Path) -> Option<&'a Value> {
    let mount = container["volumeMounts"]
        .as_sequence()?
        .iter()
        .find(|m| str_at(m, &["mountPath"]).map(Path::new) == Some(mount_path))?;
    let name = str_at(mount, &["name"])?;
    deployment["spec"]["template"]["spec"]["volumes"]
        .as_sequence()?
        .iter()
        .find(|v| str_at(v, &["name"]) == Some(name))
}

/// The emptyDir volume that contains `path` in `container`, if any.
fn empty_dir_holding(deployment: &Value, container: &Value, path: &Path) -> Option<String> {
    container["volumeMounts"]
        .as_sequence()?
        .iter()
        .filter_map(|m| str_at(m, &["mountPath"]))
        .filter(|mount| path.starts_with(mount))
        .find(|mount| {
            volume_at(deployment, container, Path::new(mount))
                .is_some_and(|v| v.get("emptyDir").is_some())
        })
        .map(str::to_string)
}

fn env_named<'a>(container: &'a Value, name: &str) -> Vec<&'a Value> {
    container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter(|e| str_at(e, &["name"]) == Some(name))
        .collect()
}

#[test]
fn the_deployment_file_holds_a_deployment_a_service_and_an_autoscaler() {
    let docs = deployment_docs();
    let kinds: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| {
            (
                str_at(d, &["apiVersion"]).unwrap_or("no apiVersion"),
                str_at(d, &["kind"]).unwrap_or("no kind"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ],
        "{DEPLOYMENT_FILE}: the documents and their API versions"
    );
}

#[test]
fn the_deployment_runs_spin_up_from_the_registry_on_spin_4_1_or_later() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);

    let image = str_at(container, &["image"]).expect("the container has an image");
    let tag = image.strip_prefix(SPIN_IMAGE).unwrap_or_else(|| {
        panic!("the container image {image} is not the Spin CLI image {SPIN_IMAGE}<tag>")
    });
    let version = release(tag)
        .unwrap_or_else(|| panic!("the Spin image tag {tag} is not a release tag like v4.1.0"));
    assert!(
        version >= MIN_SPIN,
        "the Spin image {image} is older than Spin {MIN_SPIN:?}, which these WASIp3 components need"
    );

    let command = strings(&container["command"]);
    let args = strings(&container["args"]);
    let argv: Vec<&str> = command.iter().chain(args.iter()).copied().collect();
    let spin_at = argv
        .iter()
        .position(|a| *a == "spin" || a.ends_with("/spin"));
    assert!(
        spin_at.is_none_or(|i| i == 0),
        "spin must be the program, not an argument: {argv:?}"
    );
    let up = if spin_at.is_some() {
        &argv[1..]
    } else {
        &argv[..]
    };
    assert_eq!(
        up.first(),
        Some(&"up"),
        "the container must run `spin up` (the image's entrypoint is spin): {argv:?}"
    );

    let from = flag(up, &["--from", "-f", "--from-registry"])
        .unwrap_or_else(|| panic!("`spin up` has no --from <registry reference>: {up:?}"));
    assert!(
        from.contains("/partner-invites:") || from.contains("/partner-invites@"),
        "--from {from} is not a registry reference to partner-invites"
    );
    let app = spinapp();
    let spinapp_image = str_at(&app, &["spec", "image"]).expect("the SpinApp image");
    assert_eq!(
        from, spinapp_image,
        "the Deployment and the SpinApp run different app references"
    );

    let listen = flag(up, &["--listen"])
        .unwrap_or_else(|| panic!("`spin up` has no --listen (the default is 127.0.0.1): {up:?}"));
    let (host, port) = listen
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("--listen {listen} is not host:port"));
    assert_eq!(
        host, "0.0.0.0",
        "--listen {listen} must listen on all interfaces"
    );
    let port: u64 = port.parse().expect("--listen port is a number");
    assert!(
        is_container_port(&Value::from(port), container),
        "--listen port {port} is not a containerPort of the container"
    );
}

#[test]
fn the_runtime_config_file_is_read_from_the_mounted_secret() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let args = strings(&container["args"]);
    let file = flag(&args, &["--runtime-config-file"])
        .unwrap_or_else(|| panic!("`spin up` has no --runtime-config-file: {args:?}"));
    let file = Path::new(file);
    let dir = file
        .parent()
        .unwrap_or_else(|| panic!("--runtime-config-file {} has no directory", file.display()));
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a file name");

    let volume = volume_at(deployment, container, dir).unwrap_or_else(|| {
        panic!(
            "nothing is mounted at {}, where --runtime-config-file points",
            dir.display()
        )
    });
    let secret = volume.get("secret").unwrap_or_else(|| {
        panic!(
            "the volume at {} is not a Secret: the Redis URL may carry a password",
            dir.display()
        )
    });
    let secret_name = str_at(secret, &["secretName"]).expect("secret.secretName");
    let key = match secret.get("items").and_then(Value::as_sequence) {
        Some(items) => items
            .iter()
            .find(|i| str_at(i, &["path"]) == Some(name))
            .and_then(|i| str_at(i, &["key"]))
            .unwrap_or_else(|| panic!("the Secret volume's items do not project {name}")),
        None => name,
    };
    let secrets = shipped_secrets();
    let keys = secrets.get(secret_name).unwrap_or_else(|| {
        panic!("the runtime config volume names Secret {secret_name}, which no file in {SECRET_FILES:?} defines")
    });
    let config = keys.get(key).unwrap_or_else(|| {
        panic!("Secret {secret_name} has no key {key}, the file --runtime-config-file reads")
    });

    let config: toml::Table = config
        .parse()
        .unwrap_or_else(|e| panic!("{secret_name}/{key} is not TOML: {e}"));
    let stores = config
        .get("key_value_store")
        .and_then(toml::Value::as_table)
        .unwrap_or_else(|| panic!("{secret_name}/{key} has no [key_value_store]"));
    for label in store_labels() {
        let store = stores
            .get(&label)
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("{secret_name}/{key} has no [key_value_store.{label}]"));
        assert_eq!(
            store.get("type").and_then(toml::Value::as_str),
            Some("redis"),
            "{secret_name}/{key}: store {label} must be Redis, shared by the replicas"
        );
        assert!(
            store
                .get("url")
                .and_then(toml::Value::as_str)
                .is_some_and(|u| u.starts_with("redis://")),
            "{secret_name}/{key}: store {label} needs a redis:// url"
        );
    }
}

#[test]
fn every_secret_the_deployment_reads_is_a_shipped_secret_and_key() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let secrets = shipped_secrets();

    let mut references = 0;
    for env in container["env"].as_sequence().into_iter().flatten() {
        let var = str_at(env, &["name"]).unwrap_or("an env var without a name");
        let Some(reference) = env.get("valueFrom").and_then(|v| v.get("secretKeyRef")) else {
            continue;
        };
        references += 1;
        let name = str_at(reference, &["name"])
            .unwrap_or_else(|| panic!("{var}: secretKeyRef has no name"));
        let key =
            str_at(reference, &["key"]).unwrap_or_else(|| panic!("{var}: secretKeyRef has no key"));
        let keys = secrets.get(name).unwrap_or_else(|| {
            panic!("{var} reads Secret {name}, which no file in {SECRET_FILES:?} defines")
        });
        assert!(
            keys.contains_key(key),
            "{var} reads key {key} of Secret {name}, which has only {:?}",
            keys.keys().collect::<Vec<_>>()
        );
    }
    assert!(references > 0, "the Deployment reads no Secret keys");

    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_sequence()
        .expect("the pod has volumes");
    for volume in volumes {
        let Some(secret) = volume.get("secret") else {
            continue;
        };
        let volume_name = str_at(volume, &["name"]).unwrap_or("a volume without a name");
        let name = str_at(secret, &["secretName"])
            .unwrap_or_else(|| panic!("volume {volume_name} has no secretName"));
        let keys = secrets.get(name).unwrap_or_else(|| {
            panic!("volume {volume_name} mounts Secret {name}, which no file in {SECRET_FILES:?} defines")
        });
        for item in secret
            .get("items")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let key = str_at(item, &["key"]).expect("items[].key");
            assert!(
                keys.contains_key(key),
                "volume {volume_name} projects key {key}, which Secret {name} does not have"
            );
        }
    }
}

#[test]
fn every_spin_variable_is_bound_once_in_the_deployment_and_secrets_come_from_secrets() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let variables = spin_variables();
    let app = spinapp();
    let in_spinapp = app["spec"]["variables"].as_sequence().expect("variables");

    for (name, secret) in &variables {
        let env_name = format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase());
        let bound = env_named(container, &env_name);
        assert_eq!(
            bound.len(),
            1,
            "spin.toml variable {name} must be bound exactly once, as {env_name}; found {}",
            bound.len()
        );
        let binding = bound[0];
        let from_secret = binding.get("valueFrom").and_then(|v| v.get("secretKeyRef"));
        // What the SpinApp keeps in a Secret (the mail relay URL too), the
        // Deployment must keep in one as well.
        let secret_in_spinapp = in_spinapp
            .iter()
            .find(|b| str_at(b, &["name"]) == Some(name.as_str()))
            .and_then(|b| b.get("valueFrom"))
            .and_then(|v| v.get("secretKeyRef"));
        if *secret || secret_in_spinapp.is_some() {
            let reference = from_secret.unwrap_or_else(|| {
                panic!("{env_name} must come from a secretKeyRef ({name} is secret)")
            });
            assert!(
                binding.get("value").is_none(),
                "{env_name} has a literal value as well as the secretKeyRef"
            );
            if let Some(spinapp_ref) = secret_in_spinapp {
                assert_eq!(
                    (str_at(reference, &["name"]), str_at(reference, &["key"])),
                    (
                        str_at(spinapp_ref, &["name"]),
                        str_at(spinapp_ref, &["key"])
                    ),
                    "{env_name} reads a different Secret key than the SpinApp's {name}"
                );
            }
        } else {
            assert!(
                binding.get("value").is_some() || from_secret.is_some(),
                "{env_name} has neither a value nor a secretKeyRef"
            );
        }
    }

    for env in container["env"].as_sequence().into_iter().flatten() {
        let env_name = str_at(env, &["name"]).unwrap_or_default();
        if let Some(rest) = env_name.strip_prefix("SPIN_VARIABLE_") {
            assert!(
                variables.contains_key(&rest.to_ascii_lowercase()),
                "{env_name} binds no variable of spin.toml"
            );
        }
    }
}

#[test]
fn the_deployment_probes_hit_a_route_of_spin_toml_on_the_container_port() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let routes = routes();
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let Some(check) = container.get(probe) else {
            assert_ne!(
                probe, "readinessProbe",
                "the container has no readinessProbe"
            );
            assert_ne!(probe, "livenessProbe", "the container has no livenessProbe");
            continue;
        };
        let path = str_at(check, &["httpGet", "path"])
            .unwrap_or_else(|| panic!("{probe} is not an httpGet probe with a path"));
        assert!(
            routes.contains(path),
            "{probe} path {path} is not a route in spin.toml"
        );
        assert!(
            is_container_port(&check["httpGet"]["port"], container),
            "{probe} port {:?} is not a port of the container",
            check["httpGet"]["port"]
        );
    }
}

#[test]
fn the_service_selects_the_deployment_pods_and_targets_the_container_port() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let service = one_of(&docs, "Service", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        .as_mapping()
        .expect("the pod template has labels");

    let match_labels = deployment["spec"]["selector"]["matchLabels"]
        .as_mapping()
        .expect("the Deployment has spec.selector.matchLabels");
    for (k, v) in match_labels {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the Deployment's selector {k:?} does not match its pod labels"
        );
    }

    let selector = service["spec"]["selector"]
        .as_mapping()
        .expect("the Service has spec.selector");
    assert!(!selector.is_empty(), "the Service selects nothing");
    for (k, v) in selector {
        assert_eq!(
            pod_labels.get(k),
            Some(v),
            "the Service selector {k:?}={v:?} is not a label of the Deployment's pods"
        );
    }
    let ports = service["spec"]["ports"]
        .as_sequence()
        .expect("the Service has ports");
    assert!(!ports.is_empty(), "the Service has no ports");
    for port in ports {
        let target = port.get("targetPort").unwrap_or(&port["port"]);
        assert!(
            is_container_port(target, container),
            "the Service's targetPort {target:?} is not a port of the container"
        );
    }
}

#[test]
fn the_autoscaler_scales_the_deployment_on_cpu() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let hpa = one_of(&docs, "HorizontalPodAutoscaler", DEPLOYMENT_FILE);
    let name = str_at(deployment, &["metadata", "name"]).expect("the Deployment's name");

    let target = &hpa["spec"]["scaleTargetRef"];
    assert_eq!(
        (
            str_at(target, &["apiVersion"]),
            str_at(target, &["kind"]),
            str_at(target, &["name"])
        ),
        (Some("apps/v1"), Some("Deployment"), Some(name)),
        "the autoscaler does not target the Deployment {name}"
    );
    let min = hpa["spec"]["minReplicas"].as_u64().expect("minReplicas");
    let max = hpa["spec"]["maxReplicas"].as_u64().expect("maxReplicas");
    assert!(
        min >= 2,
        "minReplicas {min}: keep more than one replica, sharing the Redis store"
    );
    assert!(max >= min, "maxReplicas {max} is below minReplicas {min}");
    let on_cpu = hpa["spec"]["metrics"]
        .as_sequence()
        .into_iter()
        .flatten()
        .any(|m| {
            str_at(m, &["type"]) == Some("Resource")
                && str_at(m, &["resource", "name"]) == Some("cpu")
                && str_at(m, &["resource", "target", "type"]) == Some("Utilization")
                && m["resource"]["target"]["averageUtilization"]
                    .as_u64()
                    .is_some()
        });
    assert!(on_cpu, "the autoscaler has no CPU utilisation target");

    assert!(
        deployment["spec"].get("replicas").is_none(),
        "the Deployment sets spec.replicas, which every apply would reset under the autoscaler"
    );
    let container = spin_container(deployment);
    let resources = &container["resources"];
    assert!(
        resources["requests"].get("cpu").is_some(),
        "CPU utilisation is measured against requests.cpu, which the container lacks"
    );
    for kind in ["requests", "limits"] {
        assert!(
            resources[kind].get("memory").is_some(),
            "the container has no {kind}.memory"
        );
    }
}

#[test]
fn the_deployment_runs_as_non_root_on_a_read_only_root_with_writable_scratch() {
    let docs = deployment_docs();
    let deployment = one_of(&docs, "Deployment", DEPLOYMENT_FILE);
    let container = spin_container(deployment);
    let pod = &deployment["spec"]["template"]["spec"]["securityContext"];
    let own = &container["securityContext"];
    let setting = |key: &str| {
        own.get(key)
            .or_else(|| pod.get(key))
            .and_then(Value::as_bool)
    };

    assert_eq!(
        setting("runAsNonRoot"),
        Some(true),
        "runAsNonRoot is not set"
    );
    assert!(
        own["readOnlyRootFilesystem"].as_bool() == Some(true),
        "the container's root filesystem is writable"
    );
    assert!(
        own["allowPrivilegeEscalation"].as_bool() == Some(false),
        "the container allows privilege escalation"
    );

    let home = env_named(container, "HOME");
    let home = home
        .first()
        .and_then(|e| str_at(e, &["value"]))
        .expect("HOME is set: Spin caches the registry pull and Wasmtime's code under it");
    assert!(
        empty_dir_holding(deployment, container, Path::new(home)).is_some(),
        "HOME={home} is not on an emptyDir, and the root filesystem is read-only"
    );
    assert!(
        empty_dir_holding(deployment, container, Path::new("/tmp")).is_some(),
        "/tmp is not an emptyDir: `spin up` writes the app's lock file to a temporary directory"
    );
}

#[test]
fn the_versions_are_stated_in_the_guide_and_the_spinapp() {
    let guide = read("deploy/README.md");
    let spinapp = read("deploy/kubernetes/spinapp.yaml");
    let header: String = spinapp
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| l.trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for (what, text) in [
        ("deploy/README.md", guide.replace("**", "")),
        ("the comment atop spinapp.yaml", header),
    ] {
        for needed in [
            "Spin 4.1.0 or later",
            "0.25.x",
            "Spin 4.0.1",
            "Spin 4.1 or later",
        ] {
            assert!(
                text.contains(needed),
                "{what} must state the versions: it lacks {needed:?}"
            );
        }
    }
}

/// Paths in the guide that name files of this repository.
fn paths_in(guide: &str) -> BTreeSet<&str> {
    guide
        .split(|c: char| c.is_whitespace() || "`=()[],'\"|".contains(c))
        .map(|w| w.trim_end_matches(['.', ':', ';']))
        .filter(|w| w.starts_with("deploy/") || w.starts_with("tests/"))
        .collect()
}

#[test]
fn the_guide_names_only_files_that_exist() {
    let guide = read("deploy/README.md");
    let mentioned = paths_in(&guide);
    assert!(mentioned.len() >= 6, "{mentioned:?}");
    for path in mentioned {
        assert!(
            root().join(path).is_file(),
            "deploy/README.md names {path}, which is not a file"
        );
    }
}

#[test]
fn the_guide_lists_every_file_in_deploy() {
    let guide = read("deploy/README.md");
    let listed: BTreeSet<&str> = guide
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1))
        .collect();
    let mut dirs = vec![root().join("deploy")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root())
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            if relative == "deploy/README.md" {
                continue;
            }
            assert!(
                listed.contains(relative.as_str()),
                "{relative} is missing from the table of files in deploy/README.md"
            );
        }
    }
}

#[test]
fn the_dispatch_cronjob_calls_the_dispatch_route_every_minute_with_an_operator_token() {
    const FILE: &str = "deploy/kubernetes/dispatch-cronjob.yaml";
    let docs = yaml(FILE);
    let job = one_of(&docs, "CronJob", FILE);
    assert_eq!(str_at(job, &["apiVersion"]), Some("batch/v1"));
    assert_eq!(str_at(job, &["spec", "schedule"]), Some("* * * * *"));
    assert_eq!(
        str_at(job, &["spec", "concurrencyPolicy"]),
        Some("Forbid"),
        "runs do not overlap"
    );
    let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let containers = pod["containers"].as_sequence().expect("containers");
    assert_eq!(containers.len(), 1, "{FILE}: one container");
    let container = &containers[0];
    let url = env_named(container, "DISPATCH_URL")
        .first()
        .and_then(|e| str_at(e, &["value"]))
        .expect("DISPATCH_URL");
    let path = url
        .strip_prefix("http://partner-invites")
        .expect("the Service partner-invites");
    assert!(
        routes().contains(path),
        "{FILE}: {path} is not a route of spin.toml"
    );
    // The Service both paths expose is partner-invites on port 80.
    let service = one_of(&deployment_docs(), "Service", DEPLOYMENT_FILE).clone();
    assert_eq!(
        str_at(&service, &["metadata", "name"]),
        Some("partner-invites")
    );
    let token = env_named(container, "OPERATOR_TOKEN");
    assert_eq!(
        token
            .first()
            .and_then(|e| str_at(e, &["valueFrom", "secretKeyRef", "key"])),
        Some("operator-token"),
        "{FILE}: the token comes from a Secret"
    );
    let script = strings(&container["args"]).join("\n");
    assert!(
        script.contains("-X POST") && script.contains("$DISPATCH_URL"),
        "{FILE}: the script POSTs to the route: {script}"
    );
    assert!(
        script.contains(r#""more":true"#),
        "{FILE}: calls again while more is due"
    );
    assert_eq!(str_at(pod, &["restartPolicy"]), Some("Never"));
}
