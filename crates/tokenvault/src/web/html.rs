//! HTML building blocks: escaping, the page layout, small widgets. Every text that did not come
//! from this file goes through [`esc`].

/// Escapes text for an HTML element or a quoted attribute.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` block: `<` escaped so no `</script>` can end it.
pub fn json_block(id: &str, value: &serde_json::Value) -> String {
    let text = value.to_string().replace('<', "\\u003c");
    format!(
        r#"<script type="application/json" id="{}">{text}</script>"#,
        esc(id)
    )
}

/// A status message: `kind` is `ok`, `warn` or `bad`.
pub struct Flash {
    pub kind: &'static str,
    pub title: String,
    /// Extra lines (already HTML).
    pub body: String,
}

pub const PAGES: &[(&str, &str)] = &[
    ("/tokens", "Tokens"),
    ("/mcp", "MCP clients"),
    ("/attention", "Attention"),
    ("/audit", "Audit"),
];

/// The whole page: header with navigation, the status region (announced), the content.
pub fn page(
    active: &str,
    title: &str,
    flash: Option<&Flash>,
    banner: &str,
    content: &str,
) -> String {
    let nav: String = PAGES
        .iter()
        .map(|(href, label)| {
            let current = if *href == active {
                r#" aria-current="page""#
            } else {
                ""
            };
            format!(r#"<li><a href="{href}"{current}>{label}</a></li>"#)
        })
        .collect();
    let status = match flash {
        Some(f) => format!(
            r#"<div class="flash {}"><p class="flash-title">{}</p>{}</div>"#,
            f.kind,
            esc(&f.title),
            f.body
        ),
        None => String::new(),
    };
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · tokenvault</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand" aria-hidden="true">◆</span><span class="brand-name">tokenvault</span>
  <nav aria-label="Sections"><ul>{nav}</ul></nav>
</header>
{banner}
<main id="main" tabindex="-1">
<h1>{title}</h1>
<div id="status" role="status" aria-live="polite">{status}</div>
{content}
</main>
<footer><p>Served on this computer only. Values never reach this page: you see masked forms.</p></footer>
</body>
</html>
"##,
        title = esc(title),
    )
}

/// A hidden CSRF field and a submit button, as one form posting to `action`.
pub fn button_form(
    action: &str,
    csrf: &str,
    fields: &[(&str, &str)],
    label: &str,
    class: &str,
) -> String {
    let hidden: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                esc(k),
                esc(v)
            )
        })
        .collect();
    format!(
        r#"<form method="post" action="{}" class="inline"><input type="hidden" name="csrf" value="{}">{hidden}<button type="submit" class="{}">{}</button></form>"#,
        esc(action),
        esc(csrf),
        esc(class),
        esc(label)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        let block = json_block("d", &serde_json::json!({"a": "</script><b>"}));
        assert!(
            !block[..block.len() - "</script>".len()].contains("</script>"),
            "{block}"
        );
    }
}
