//! The endpoints as `wrk` Lua scripts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use partner_invites::token::KeyRing;

use crate::seed::{Seeded, bearer, invite_body};

/// One endpoint to load: its name in the report, its path, its script.
pub struct Endpoint {
    pub name: &'static str,
    pub path: String,
    pub script: PathBuf,
}

/// The endpoints' names, in the report's order (what `--only` takes).
pub const NAMES: [&str; 7] = [
    "generate",
    "redeem preview",
    "redeem",
    "list page (50)",
    "relationship",
    "customers",
    "connection request",
];

/// Writes `text` as `dir/name.lua`.
pub fn lua(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A script that sends one request, the same each time; with `close`, each
/// on a new connection (`Connection: close`: wrk reconnects).
pub fn header_script(bearer: &str, method: &str, body: Option<&str>, close: bool) -> String {
    let mut s = format!(
        "wrk.method = \"{method}\"\nwrk.headers[\"authorization\"] = \"Bearer {bearer}\"\nwrk.headers[\"accept\"] = \"application/json\"\n"
    );
    if let Some(b) = body {
        let _ = write!(
            s,
            "wrk.headers[\"content-type\"] = \"application/json\"\nwrk.body = [[{b}]]\n"
        );
    }
    if close {
        s.push_str("wrk.headers[\"connection\"] = \"close\"\n");
    }
    s
}

/// A script that sends each line of `list` once, split between the two wrk threads.
fn unique_script(list: &Path, path: &str, bearer: Option<&str>, body: &str) -> String {
    let auth = bearer.map_or(String::new(), |b| {
        format!("[\"authorization\"] = \"Bearer {b}\", ")
    });
    format!(
        r#"local items = {{}}
for line in io.lines("{list}") do items[#items + 1] = line end
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
local i = 0
function request()
  i = i + 1
  local index = ((tid or 0) * math.floor(#items / 2) + i - 1) % #items + 1
  local body = string.format('{body}', items[index])
  return wrk.format("POST", "{path}", {{ {auth}["content-type"] = "application/json" }}, body)
end
"#,
        list = list.display()
    )
}

/// Token and organization lists for the two concurrency levels: disjoint
/// shares (a third and two thirds), so the second level never replays what
/// the first used up. Every host gets its own copy of the store, so the
/// hosts can use the same lists.
pub struct Shares {
    tokens: [PathBuf; 2],
    organizations: [PathBuf; 2],
}

impl Shares {
    /// Writes the lists into `dir`.
    pub fn write(dir: &Path, seeded: &Seeded) -> Result<Shares> {
        let split = |items: &[String], name: &str| -> Result<[PathBuf; 2]> {
            let (first, second) = items.split_at(items.len() / 3);
            let files = [
                dir.join(format!("{name}-1.txt")),
                dir.join(format!("{name}-64.txt")),
            ];
            for (file, part) in files.iter().zip([first, second]) {
                std::fs::write(file, part.join("\n"))?;
            }
            Ok(files)
        };
        // The last token is the preview's, never redeemed.
        let tokens = seeded.tokens.split_last().map_or(&[][..], |(_, rest)| rest);
        Ok(Shares {
            tokens: split(tokens, "tokens")?,
            organizations: split(&seeded.organizations, "organizations")?,
        })
    }
}

/// The endpoints, with the lists of share `share` (0: one connection, 1: 64).
pub fn endpoints(
    dir: &Path,
    keys: &KeyRing,
    seeded: &Seeded,
    shares: &Shares,
    share: usize,
) -> Result<Vec<Endpoint>> {
    let bench = bearer(keys, "bench")?;
    let preview = seeded.tokens.last().map_or("", String::as_str);
    let get = header_script(&bench, "GET", None, false);
    let share = share.min(1);
    let endpoint = |name, path: String, script| Endpoint { name, path, script };
    Ok(vec![
        endpoint(
            NAMES[0],
            "/api/invites/generate".into(),
            lua(
                dir,
                "generate",
                &header_script(&bench, "POST", Some(&invite_body(0)), false),
            )?,
        ),
        endpoint(
            NAMES[1],
            format!("/invite/{preview}"),
            lua(
                dir,
                "preview",
                "wrk.headers[\"accept\"] = \"application/json\"\n",
            )?,
        ),
        endpoint(
            NAMES[2],
            "/api/invites/redeem".into(),
            lua(
                dir,
                &format!("redeem-{share}"),
                &unique_script(
                    &shares.tokens[share],
                    "/api/invites/redeem",
                    None,
                    r#"{"token":"%s"}"#,
                ),
            )?,
        ),
        endpoint(
            NAMES[3],
            "/api/invites?limit=50".into(),
            lua(dir, "list", &get)?,
        ),
        endpoint(
            NAMES[4],
            format!("/api/relationships/{}", seeded.relationship),
            lua(dir, "relationship", &get)?,
        ),
        endpoint(
            NAMES[5],
            "/api/customers?limit=50".into(),
            lua(dir, "customers", &get)?,
        ),
        endpoint(
            NAMES[6],
            "/api/connections".into(),
            lua(
                dir,
                &format!("connect-{share}"),
                &unique_script(
                    &shares.organizations[share],
                    "/api/connections",
                    Some(&bearer(keys, "bench-connect")?),
                    r#"{"organization_id":"%s","connection":"msp"}"#,
                ),
            )?,
        ),
    ])
}
