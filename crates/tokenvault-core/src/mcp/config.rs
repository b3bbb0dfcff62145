//! A client config as text in, text out: read its servers, and change single members of single
//! servers while every comment, key order, unknown key and indentation elsewhere stays as the
//! user wrote it. JSON and JSONC go through a concrete syntax tree (`jsonc-parser`'s CST), Codex's
//! TOML through `toml_edit`.

use super::clients::{ClientId, Format};
use jsonc_parser::cst::{CstInputValue, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The text is not valid JSON/JSONC/TOML. The message has the line and column, never the text.
    #[error("not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error(
        "'{key}' is not an object (found {found}); tokenvault cannot tell where its servers are"
    )]
    NotAnObject { key: String, found: &'static str },
    #[error("the server name '{name}' appears twice in '{key}'; the client uses only one of them: remove the other first")]
    DuplicateServer { key: String, name: String },
    #[error("'{member}' appears twice in server '{name}' of '{key}'; the client uses only the last one: remove the other first")]
    DuplicateMember {
        key: String,
        name: String,
        member: String,
    },
    #[error("there is no server '{name}' in '{key}'")]
    NoSuchServer { key: String, name: String },
    #[error("a server named '{name}' already exists in '{key}' (use --force to replace it)")]
    ServerExists { key: String, name: String },
}

/// Where a server map sits in the document: a path of object keys from the root, e.g.
/// `["mcpServers"]` or, for Claude Code's per-project servers, `["projects", "/src/app", "mcpServers"]`.
pub type Location = Vec<String>;

/// One server entry as the client wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub location: Location,
    pub name: String,
    pub value: Value,
}

/// A change to one server, with paths relative to the server's object.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Set the member at this path (creating objects on the way), keeping its position if it exists.
    Set(Vec<String>, Value),
    /// Remove the member at this path if present.
    Remove(Vec<String>),
}

/// How a TOML text ends its lines. toml_edit writes `\n` after every line, so a file with CRLF
/// line ends, or without a final newline, would otherwise change on every line or at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEnds {
    /// The first line ends in `\r\n`: every line is written so (a file that mixes both comes
    /// back with CRLF throughout).
    pub crlf: bool,
    /// The text does not end with a newline.
    pub no_final_newline: bool,
}

impl LineEnds {
    fn of(text: &str) -> LineEnds {
        LineEnds {
            crlf: text.find('\n').is_some_and(|i| text[..i].ends_with('\r')),
            no_final_newline: !text.is_empty() && !text.ends_with('\n'),
        }
    }

    /// `text` as toml_edit wrote it, with these line ends.
    fn apply(self, text: String) -> String {
        let text = match text.strip_suffix('\n') {
            Some(cut) if self.no_final_newline => cut.to_owned(),
            _ => text,
        };
        if !self.crlf {
            return text;
        }
        let mut out = String::with_capacity(text.len() + text.len() / 16);
        let mut after_cr = false;
        for c in text.chars() {
            if c == '\n' && !after_cr {
                out.push('\r');
            }
            out.push(c);
            after_cr = c == '\r';
        }
        out
    }
}

/// A parsed config document that can be edited and written back.
pub enum Document {
    Json(CstRootNode),
    /// The document; how its text ends lines, which toml_edit does not keep; and the text itself
    /// until the first change (toml_edit also rewrites some spacing, e.g. around the dots of a
    /// table header, so an unchanged document gives back its text, not toml_edit's).
    Toml(Box<toml_edit::DocumentMut>, LineEnds, Option<String>),
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Document::Json(_) => "Document::Json",
            Document::Toml(..) => "Document::Toml",
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Document {
    /// Parses `text` as the client writes it. An empty file is an empty document.
    pub fn parse(format: Format, text: &str) -> Result<Document, ConfigError> {
        match format {
            Format::Json | Format::Jsonc => {
                let source = if text.trim().is_empty() { "{}\n" } else { text };
                let root = CstRootNode::parse(source, &client_json()).map_err(|e| {
                    ConfigError::Syntax {
                        format: if format == Format::Json {
                            "JSON"
                        } else {
                            "JSON with comments"
                        },
                        message: syntax_message(&e.to_string()),
                    }
                })?;
                if let Some(v) = root.value() {
                    if v.as_object().is_none() {
                        let found = v.to_serde_value().map(|v| json_kind(&v)).unwrap_or("text");
                        return Err(ConfigError::NotAnObject {
                            key: "(the whole file)".into(),
                            found,
                        });
                    }
                }
                Ok(Document::Json(root))
            }
            Format::Toml => text
                .parse::<toml_edit::DocumentMut>()
                .map(|doc| Document::Toml(Box::new(doc), LineEnds::of(text), Some(text.to_owned())))
                .map_err(|e| ConfigError::Syntax {
                    format: "TOML",
                    message: toml_message(&e),
                }),
        }
    }

    /// The document as text.
    pub fn to_text(&self) -> String {
        match self {
            Document::Json(root) => root.to_string(),
            Document::Toml(_, _, Some(unchanged)) => unchanged.clone(),
            Document::Toml(doc, ends, None) => ends.apply(doc.to_string()),
        }
    }

    /// Every server map of `client` in this document, in file order.
    pub fn locations(&self, client: ClientId) -> Result<Vec<Location>, ConfigError> {
        let key = client.servers_key().to_owned();
        let mut out = vec![vec![key.clone()]];
        if client == ClientId::ClaudeCode {
            // ~/.claude.json: projects[<path>].mcpServers, one map per project directory.
            if let Some(Value::Object(projects)) = self.value_at(&["projects".to_owned()])? {
                for (path, project) in projects {
                    if project.get(&key).is_some() {
                        out.push(vec!["projects".to_owned(), path, key.clone()]);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The servers of `client`, in file order, every location included.
    pub fn entries(&self, client: ClientId) -> Result<Vec<Entry>, ConfigError> {
        let mut out = Vec::new();
        for location in self.locations(client)? {
            for (name, value) in self.servers_at(&location)? {
                out.push(Entry {
                    location: location.clone(),
                    name,
                    value,
                });
            }
        }
        Ok(out)
    }

    /// The servers of one map, as (name, value) in file order; duplicates are an error.
    pub fn servers_at(&self, location: &[String]) -> Result<Vec<(String, Value)>, ConfigError> {
        let key = location.join(".");
        let pairs: Vec<(String, Value)> = match self {
            Document::Json(root) => {
                let Some(obj) = json_object_at(root, location, &key)? else {
                    return Ok(Vec::new());
                };
                obj.properties()
                    .into_iter()
                    .filter_map(|p| {
                        let name = p.decoded_name()?;
                        let value = p.value()?.to_serde_value().unwrap_or(Value::Null);
                        Some((name, value))
                    })
                    .collect()
            }
            Document::Toml(doc, ..) => {
                let Some(item) = toml_item_at(doc.as_item(), location) else {
                    return Ok(Vec::new());
                };
                let Some(table) = item.as_table_like() else {
                    return Err(ConfigError::NotAnObject {
                        key,
                        found: "a value",
                    });
                };
                table
                    .iter()
                    .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                    .collect()
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &pairs {
            if !seen.insert(name.as_str()) {
                return Err(ConfigError::DuplicateServer {
                    key,
                    name: name.clone(),
                });
            }
        }
        Ok(pairs)
    }

    /// The value at a path of object keys, if present.
    fn value_at(&self, path: &[String]) -> Result<Option<Value>, ConfigError> {
        match self {
            Document::Json(root) => {
                let Some((last, parents)) = path.split_last() else {
                    return Ok(root.value().and_then(|v| v.to_serde_value()));
                };
                let Some(obj) = json_object_at(root, parents, &parents.join("."))? else {
                    return Ok(None);
                };
                Ok(obj
                    .get(last)
                    .and_then(|p| p.value())
                    .and_then(|v| v.to_serde_value()))
            }
            Document::Toml(doc, ..) => Ok(toml_item_at(doc.as_item(), path).map(toml_to_json)),
        }
    }

    /// Applies `ops` to server `name` of the map at `location`.
    pub fn edit_server(
        &mut self,
        location: &[String],
        name: &str,
        ops: &[Op],
    ) -> Result<(), ConfigError> {
        let key = location.join(".");
        let missing = || ConfigError::NoSuchServer {
            key: key.clone(),
            name: name.to_owned(),
        };
        match self {
            Document::Json(root) => {
                let obj = json_object_at(root, location, &key)?.ok_or_else(missing)?;
                let server = obj
                    .get(name)
                    .and_then(|p| p.object_value())
                    .ok_or_else(missing)?;
                // A member named twice: clients read the last, the edit would change the first.
                for op in ops {
                    let (Op::Set(path, _) | Op::Remove(path)) = op;
                    if let Some(member) = json_duplicate_on(&server, path) {
                        return Err(ConfigError::DuplicateMember {
                            key,
                            name: name.to_owned(),
                            member,
                        });
                    }
                }
                for op in ops {
                    json_apply(&server, op);
                }
            }
            Document::Toml(doc, _, unchanged) => {
                let mut path = location.to_vec();
                path.push(name.to_owned());
                let server = toml_item_at_mut(doc.as_item_mut(), &path)
                    .and_then(|i| i.as_table_like_mut())
                    .ok_or_else(missing)?;
                if !ops.is_empty() {
                    *unchanged = None;
                }
                for op in ops {
                    toml_apply(server, op);
                }
            }
        }
        Ok(())
    }

    /// Adds server `name` with `value` (an object) at the end of the map at `location`, creating
    /// the map if needed; with `replace`, an existing server of that name is replaced in place.
    pub fn add_server(
        &mut self,
        location: &[String],
        name: &str,
        value: &Value,
        replace: bool,
    ) -> Result<(), ConfigError> {
        let key = location.join(".");
        let exists = self.servers_at(location)?.iter().any(|(n, _)| n == name);
        if exists && !replace {
            return Err(ConfigError::ServerExists {
                key,
                name: name.to_owned(),
            });
        }
        match self {
            Document::Json(root) => {
                let mut obj = root.object_value_or_set();
                for k in location {
                    obj = obj.object_value_or_set(k);
                }
                match obj.get(name) {
                    Some(prop) => prop.set_value(to_cst(value)),
                    None => {
                        obj.append(name, to_cst(value));
                    }
                }
            }
            Document::Toml(doc, _, unchanged) => {
                *unchanged = None;
                let not_table = || ConfigError::NotAnObject {
                    key: key.clone(),
                    found: "a value",
                };
                let mut item = doc.as_item_mut();
                for k in location {
                    let t = item.as_table_like_mut().ok_or_else(not_table)?;
                    if t.get(k).is_none() {
                        t.insert(k, toml_edit::Item::Table(implicit_table()));
                    }
                    item = t.get_mut(k).ok_or_else(not_table)?;
                }
                let mut server = toml_edit::Table::new();
                if let Value::Object(map) = value {
                    for (k, v) in map {
                        server.insert(k, toml_edit::Item::Value(json_to_toml(v)));
                    }
                }
                match item {
                    toml_edit::Item::Table(t) => {
                        t.insert(name, toml_edit::Item::Table(server));
                    }
                    other => {
                        let t = other.as_table_like_mut().ok_or_else(not_table)?;
                        t.insert(
                            name,
                            toml_edit::Item::Value(toml_edit::Value::InlineTable(
                                server.into_inline_table(),
                            )),
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

/// What the clients' own readers accept: JSON with comments and trailing commas. Nothing
/// looser (jsonc-parser's default also takes missing commas, bare names, single quotes, JSON5
/// numbers and escapes): on such text its syntax tree and its values disagree about which
/// member is where, so an edit could miss the member it was meant to change.
fn client_json() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn implicit_table() -> toml_edit::Table {
    let mut t = toml_edit::Table::new();
    t.set_implicit(true);
    t
}

/// jsonc-parser's message has the line and column; drop anything after a quote so a token on
/// the broken line can never be echoed.
fn syntax_message(message: &str) -> String {
    message
        .split(['"', '\''])
        .next()
        .unwrap_or(message)
        .trim()
        .to_owned()
}

/// toml_edit's error shows the offending line: keep only its position and reason.
fn toml_message(e: &toml_edit::TomlError) -> String {
    let reason = e
        .message()
        .lines()
        .next()
        .unwrap_or("syntax error")
        .to_owned();
    match e.span() {
        Some(span) => format!("{reason} (at byte {})", span.start),
        None => reason,
    }
}

/// The object at `path` from the root; `None` when a key is missing, an error when something on
/// the way is not an object.
fn json_object_at(
    root: &CstRootNode,
    path: &[String],
    key: &str,
) -> Result<Option<CstObject>, ConfigError> {
    let Some(mut obj) = root.object_value() else {
        return Ok(None);
    };
    for k in path {
        let Some(prop) = obj.get(k) else {
            return Ok(None);
        };
        match prop.object_value() {
            Some(o) => obj = o,
            None => {
                let found = prop
                    .value()
                    .and_then(|v| v.to_serde_value())
                    .map(|v| json_kind(&v))
                    .unwrap_or("nothing");
                if found == "null" {
                    return Ok(None);
                }
                return Err(ConfigError::NotAnObject {
                    key: key.to_owned(),
                    found,
                });
            }
        }
    }
    Ok(Some(obj))
}

/// The first key on `path` (from `obj`) that names more than one member of its object.
fn json_duplicate_on(obj: &CstObject, path: &[String]) -> Option<String> {
    let mut obj = obj.clone();
    for k in path {
        let named = obj
            .properties()
            .iter()
            .filter(|p| p.decoded_name().as_deref() == Some(k.as_str()))
            .count();
        if named > 1 {
            return Some(k.clone());
        }
        obj = obj.get(k).and_then(|p| p.object_value())?;
    }
    None
}

fn json_apply(server: &CstObject, op: &Op) {
    match op {
        Op::Set(path, value) => {
            let Some((last, parents)) = path.split_last() else {
                return;
            };
            let mut obj = server.clone();
            for k in parents {
                obj = obj.object_value_or_set(k);
            }
            match obj.get(last) {
                Some(prop) => prop.set_value(to_cst(value)),
                None => {
                    obj.append(last, to_cst(value));
                }
            }
        }
        Op::Remove(path) => {
            let Some((last, parents)) = path.split_last() else {
                return;
            };
            let mut obj = server.clone();
            for k in parents {
                match obj.get(k).and_then(|p| p.object_value()) {
                    Some(o) => obj = o,
                    None => return,
                }
            }
            if let Some(prop) = obj.get(last) {
                prop.remove();
            }
        }
    }
}

fn to_cst(v: &Value) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(a) => CstInputValue::Array(a.iter().map(to_cst).collect()),
        Value::Object(o) => {
            CstInputValue::Object(o.iter().map(|(k, v)| (k.clone(), to_cst(v))).collect())
        }
    }
}

fn toml_item_at<'a>(root: &'a toml_edit::Item, path: &[String]) -> Option<&'a toml_edit::Item> {
    let mut item = root;
    for k in path {
        item = item.as_table_like()?.get(k)?;
    }
    Some(item)
}

fn toml_item_at_mut<'a>(
    root: &'a mut toml_edit::Item,
    path: &[String],
) -> Option<&'a mut toml_edit::Item> {
    let mut item = root;
    for k in path {
        item = item.as_table_like_mut()?.get_mut(k)?;
    }
    Some(item)
}

fn toml_apply(server: &mut dyn toml_edit::TableLike, op: &Op) {
    match op {
        Op::Set(path, value) => {
            let Some((last, parents)) = path.split_last() else {
                return;
            };
            let mut table: &mut dyn toml_edit::TableLike = server;
            for k in parents {
                if table.get(k).is_none() {
                    table.insert(
                        k,
                        toml_edit::Item::Value(toml_edit::Value::InlineTable(Default::default())),
                    );
                }
                match table.get_mut(k).and_then(|i| i.as_table_like_mut()) {
                    Some(t) => table = t,
                    None => return,
                }
            }
            let new = json_to_toml(value);
            match table.get_mut(last) {
                Some(toml_edit::Item::Value(old)) => {
                    // Keep the comment and spacing around the old value.
                    let decor = old.decor().clone();
                    *old = new;
                    *old.decor_mut() = decor;
                }
                Some(other) => *other = toml_edit::Item::Value(new),
                None => {
                    table.insert(last, toml_edit::Item::Value(new));
                }
            }
        }
        Op::Remove(path) => {
            let Some((last, parents)) = path.split_last() else {
                return;
            };
            let mut table: &mut dyn toml_edit::TableLike = server;
            for k in parents {
                match table.get_mut(k).and_then(|i| i.as_table_like_mut()) {
                    Some(t) => table = t,
                    None => return,
                }
            }
            table.remove(last);
        }
    }
}

fn toml_to_json(item: &toml_edit::Item) -> Value {
    match item {
        toml_edit::Item::None => Value::Null,
        toml_edit::Item::Value(v) => toml_value_to_json(v),
        toml_edit::Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                .collect(),
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| {
                    Value::Object(
                        t.iter()
                            .map(|(k, v)| (k.to_owned(), toml_to_json(v)))
                            .collect(),
                    )
                })
                .collect(),
        ),
    }
}

fn toml_value_to_json(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => Value::from(*f.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(toml_value_to_json).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), toml_value_to_json(v)))
                .collect(),
        ),
    }
}

fn json_to_toml(v: &Value) -> toml_edit::Value {
    match v {
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml_edit::Value::from(i),
            None => toml_edit::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(a) => {
            let mut arr = toml_edit::Array::new();
            for x in a {
                arr.push(json_to_toml(x));
            }
            toml_edit::Value::Array(arr)
        }
        Value::Object(o) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, x) in o {
                t.insert(k, json_to_toml(x));
            }
            toml_edit::Value::InlineTable(t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| (*p).to_owned()).collect()
    }

    const JSONC: &str = r#"{
    // my servers
    "theme": "dark", /* unknown key stays */
    "servers": {
        "hf": {
            "type": "stdio",
            "command": "npx", // launcher
            "args": ["-y", "@llmindset/hf-mcp-server"],
            "env": { "HF_TOKEN": "x", "LOG": "debug" },
        },
    },
}
"#;

    #[test]
    fn jsonc_edits_keep_comments_order_and_trailing_commas() {
        let mut doc = Document::parse(Format::Jsonc, JSONC).unwrap();
        let entries = doc.entries(ClientId::VsCode).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].value["env"]["LOG"], "debug");
        doc.edit_server(
            &s(&["servers"]),
            "hf",
            &[
                Op::Set(s(&["command"]), json!("/usr/bin/tokenvault")),
                Op::Remove(s(&["env", "HF_TOKEN"])),
            ],
        )
        .unwrap();
        let out = doc.to_text();
        assert!(out.contains("// my servers"), "{out}");
        assert!(out.contains("/* unknown key stays */"), "{out}");
        assert!(
            out.contains("\"command\": \"/usr/bin/tokenvault\", // launcher"),
            "{out}"
        );
        assert!(!out.contains("HF_TOKEN"), "{out}");
        assert!(out.contains("\"LOG\": \"debug\""), "{out}");
        // Unchanged parts are byte-identical.
        assert!(out.starts_with("{\n    // my servers\n    \"theme\": \"dark\","));
    }

    #[test]
    fn claude_code_project_scopes_are_locations() {
        let text = r#"{"mcpServers":{"a":{"command":"x"}},"projects":{"/src/app":{"mcpServers":{"b":{"command":"y"}}},"/other":{"allowedTools":[]}}}"#;
        let doc = Document::parse(Format::Json, text).unwrap();
        let names: Vec<_> = doc
            .entries(ClientId::ClaudeCode)
            .unwrap()
            .into_iter()
            .map(|e| (e.location.join("."), e.name))
            .collect();
        assert_eq!(
            names,
            vec![
                ("mcpServers".to_owned(), "a".to_owned()),
                ("projects./src/app.mcpServers".to_owned(), "b".to_owned())
            ]
        );
    }

    #[test]
    fn bad_documents_are_clear_errors_without_their_text() {
        let e = Document::parse(
            Format::Json,
            "{\"mcpServers\": {\"a\": \"hf_secretvalue\"\n",
        )
        .unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
        assert!(!e.to_string().contains("hf_secret"), "{e}");
        let e = Document::parse(Format::Json, "[1]").unwrap_err();
        assert!(matches!(e, ConfigError::NotAnObject { .. }));
        let doc = Document::parse(Format::Json, r#"{"mcpServers": []}"#).unwrap();
        assert!(matches!(
            doc.entries(ClientId::Cursor).unwrap_err(),
            ConfigError::NotAnObject { .. }
        ));
        let doc = Document::parse(
            Format::Json,
            r#"{"mcpServers": {"a": {}, "a": {"command": "x"}}}"#,
        )
        .unwrap();
        assert_eq!(
            doc.entries(ClientId::Cursor).unwrap_err(),
            ConfigError::DuplicateServer {
                key: "mcpServers".into(),
                name: "a".into()
            }
        );
        let e = Document::parse(Format::Toml, "[mcp_servers.a\ncommand = 'hf_secretvalue'")
            .unwrap_err();
        assert!(!e.to_string().contains("hf_secret"), "{e}");
        // Empty files are empty documents (a client may create one).
        assert!(Document::parse(Format::Json, "")
            .unwrap()
            .entries(ClientId::Cursor)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn toml_line_ends_come_back_as_written() {
        for text in [
            "a = 1\r\n\r\n[mcp_servers.x]\r\ncommand = \"c\" # note\r\n",
            "[mcp_servers.x]\ncommand = \"c\" #",
            "[mcp_servers.x]\r\ncommand = \"c\"",
        ] {
            let mut doc = Document::parse(Format::Toml, text).unwrap();
            assert_eq!(doc.to_text(), text);
            doc.edit_server(
                &s(&["mcp_servers"]),
                "x",
                &[Op::Set(s(&["url"]), json!("u"))],
            )
            .unwrap();
            let out = doc.to_text();
            let crlf = text.contains("\r\n");
            assert_eq!(
                out.matches("\r\n").count(),
                if crlf { out.matches('\n').count() } else { 0 },
                "{out:?}"
            );
            assert_eq!(out.ends_with('\n'), text.ends_with('\n'), "{out:?}");
        }
    }

    #[test]
    fn toml_edits_keep_comments_and_subtables() {
        let text = "# codex\nmodel = \"o3\"\n\n[mcp_servers.hf]\ncommand = \"npx\" # launcher\nargs = [\"-y\", \"hf\"]\n\n[mcp_servers.hf.env]\nHF_TOKEN = \"x\"\nLOG = \"1\"\n";
        let mut doc = Document::parse(Format::Toml, text).unwrap();
        let e = doc.entries(ClientId::Codex).unwrap();
        assert_eq!(e[0].value["env"]["HF_TOKEN"], "x");
        doc.edit_server(
            &s(&["mcp_servers"]),
            "hf",
            &[
                Op::Set(s(&["command"]), json!("/bin/tokenvault")),
                Op::Set(s(&["args"]), json!(["run", "--", "npx"])),
                Op::Remove(s(&["env", "HF_TOKEN"])),
            ],
        )
        .unwrap();
        let out = doc.to_text();
        assert_eq!(
            out,
            "# codex\nmodel = \"o3\"\n\n[mcp_servers.hf]\ncommand = \"/bin/tokenvault\" # launcher\nargs = [\"run\", \"--\", \"npx\"]\n\n[mcp_servers.hf.env]\nLOG = \"1\"\n"
        );
        doc.add_server(
            &s(&["mcp_servers"]),
            "new",
            &json!({"command": "c", "args": ["a"]}),
            false,
        )
        .unwrap();
        let out = doc.to_text();
        assert!(
            out.ends_with("[mcp_servers.new]\ncommand = \"c\"\nargs = [\"a\"]\n"),
            "{out}"
        );
        assert!(matches!(
            doc.add_server(&s(&["mcp_servers"]), "new", &json!({}), false),
            Err(ConfigError::ServerExists { .. })
        ));
    }

    #[test]
    fn add_server_creates_the_map_and_appends() {
        let mut doc = Document::parse(Format::Json, "{\n  \"other\": 1\n}\n").unwrap();
        doc.add_server(
            &s(&["mcpServers"]),
            "hf",
            &json!({"command": "/bin/tokenvault", "args": ["run"]}),
            false,
        )
        .unwrap();
        let out = doc.to_text();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["mcpServers"]["hf"]["args"][0], "run");
        assert!(
            out.starts_with("{\n  \"other\": 1,\n  \"mcpServers\": {"),
            "{out}"
        );
    }
}
