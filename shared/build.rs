//! Compiles the message catalogs, `src/messages/<language>.toml`, into Rust
//! tables of `&'static str` (`$OUT_DIR/messages.rs`, included by
//! `messages`): a message is an enum variant, its text an index into a
//! table, and no catalog is parsed at run time.
//!
//! English is the reference. A catalog that lacks one of its keys or has one
//! more, a text that is empty, a stray brace, or placeholders that are not
//! English's fail the build, with every such mistake listed.
//!
//! It also writes the OpenAPI document, `src/web/openapi.json`, without the
//! whitespace between its tokens (`$OUT_DIR/openapi.json`, served by
//! `list-invites`): a quarter less to ship and to send, the same document.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The languages, in the order of `messages::Language`: English first.
const LANGUAGES: [&str; 4] = ["en", "de", "fr", "nl"];

/// Where the catalogs are, from the crate's root.
const DIR: &str = "src/messages";

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let mut mistakes = Vec::new();
    let catalogs: Vec<BTreeMap<String, String>> = LANGUAGES
        .iter()
        .map(|lang| {
            let path = format!("{DIR}/{lang}.toml");
            println!("cargo::rerun-if-changed={path}");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read the catalog {path}: {e}"));
            let table: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("the catalog {path} is not TOML: {e}"));
            let mut flat = BTreeMap::new();
            flatten("", &table, &mut flat, &path, &mut mistakes);
            flat
        })
        .collect();

    let english = &catalogs[0];
    for (lang, catalog) in LANGUAGES.iter().zip(&catalogs) {
        for (key, text) in catalog {
            if text.trim().is_empty() {
                mistakes.push(format!("{lang}.toml: {key} is empty"));
            }
            let own = match placeholders(text) {
                Ok(own) => own,
                Err(why) => {
                    mistakes.push(format!("{lang}.toml: {key}: {why}"));
                    continue;
                }
            };
            match english.get(key) {
                None => mistakes.push(format!("{lang}.toml: {key} is not in en.toml")),
                Some(reference) => {
                    if let Ok(expected) = placeholders(reference)
                        && own != expected
                    {
                        mistakes.push(format!(
                            "{lang}.toml: {key} has the placeholders {own:?}, en.toml {expected:?}"
                        ));
                    }
                }
            }
        }
        for key in english.keys().filter(|k| !catalog.contains_key(*k)) {
            mistakes.push(format!("{lang}.toml lacks {key}"));
        }
    }
    let mut variants = BTreeMap::new();
    for key in english.keys() {
        if let Some(other) = variants.insert(variant(key), key) {
            mistakes.push(format!(
                "{key} and {other} have the same name, {}",
                variant(key)
            ));
        }
    }
    if !mistakes.is_empty() {
        panic!(
            "the message catalogs in {DIR} disagree:\n  {}",
            mistakes.join("\n  ")
        );
    }

    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let code = generate(&catalogs);
    std::fs::write(Path::new(&out).join("messages.rs"), code)
        .unwrap_or_else(|e| panic!("cannot write messages.rs: {e}"));

    println!("cargo::rerun-if-changed={OPENAPI}");
    let document =
        std::fs::read_to_string(OPENAPI).unwrap_or_else(|e| panic!("cannot read {OPENAPI}: {e}"));
    std::fs::write(Path::new(&out).join("openapi.json"), compact(&document))
        .unwrap_or_else(|e| panic!("cannot write openapi.json: {e}"));
}

/// The OpenAPI document, from the crate's root.
const OPENAPI: &str = "src/web/openapi.json";

/// `json` without whitespace outside its strings (the document's parse is
/// checked by the tests that read it).
fn compact(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if !c.is_ascii_whitespace() {
            in_string = c == '"';
            out.push(c);
        }
    }
    out
}

/// Every text of `table` by its dotted key (`registration.heading`).
fn flatten(
    prefix: &str,
    table: &toml::Table,
    into: &mut BTreeMap<String, String>,
    path: &str,
    mistakes: &mut Vec<String>,
) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            mistakes.push(format!("{path}: {key}: keys are [a-z0-9_]"));
        }
        match value {
            toml::Value::String(text) => {
                into.insert(key, text.clone());
            }
            toml::Value::Table(inner) => flatten(&key, inner, into, path, mistakes),
            _ => mistakes.push(format!("{path}: {key} is not a string")),
        }
    }
}

/// The placeholders of a text (`{partner}`), or why its braces are wrong.
fn placeholders(text: &str) -> Result<BTreeSet<String>, String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a '}' without its '{'".into());
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a '{' without its '}'".to_string())?;
        let name = &after[..close];
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(format!("{{{name}}} is not a placeholder ([a-z0-9_]+)"));
        }
        found.insert(name.to_string());
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// `registration.heading` as a variant name: `RegistrationHeading`.
fn variant(key: &str) -> String {
    key.split(['.', '_'])
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The `Msg` enum, its keys, and one table of texts per language.
fn generate(catalogs: &[BTreeMap<String, String>]) -> String {
    let english = &catalogs[0];
    let count = english.len();
    let mut code = String::from(
        "// Generated by build.rs from src/messages/*.toml: edit the catalogs, not this.\n\n\
         /// A message of the catalogs, named after its key.\n\
         #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]\n\
         pub enum Msg {\n",
    );
    for (key, text) in english {
        let doc = text.replace('`', "'").replace('\n', " ");
        let _ = writeln!(code, "    /// `{key}`: `{doc}`\n    {},", variant(key));
    }
    code.push_str("}\n\nimpl Msg {\n    /// Every message, in the order of their keys.\n");
    let _ = writeln!(code, "    pub const ALL: [Msg; {count}] = [");
    for key in english.keys() {
        let _ = writeln!(code, "        Msg::{},", variant(key));
    }
    code.push_str(
        "    ];\n\n    /// Its key in the catalogs.\n    pub fn key(self) -> &'static str {\n        KEYS[self as usize]\n    }\n}\n\n",
    );
    let _ = writeln!(code, "const KEYS: [&str; {count}] = [");
    for key in english.keys() {
        let _ = writeln!(code, "    {key:?},");
    }
    code.push_str("];\n\n/// The catalogs' languages, in the order of [`TEXTS`].\n");
    let _ = writeln!(
        code,
        "const TAGS: [&str; {}] = {LANGUAGES:?};\n",
        LANGUAGES.len()
    );
    code.push_str("/// Each language's texts, in the order of [`Msg::ALL`].\n");
    let _ = writeln!(
        code,
        "static TEXTS: [[&str; {count}]; {}] = [",
        LANGUAGES.len()
    );
    for catalog in catalogs {
        code.push_str("    [\n");
        for key in english.keys() {
            let _ = writeln!(code, "        {:?},", catalog[key]);
        }
        code.push_str("    ],\n");
    }
    code.push_str("];\n");
    code
}
