//! Tests as tables: one `#[test]` runs every row of a table of cases, each on its own thread
//! named `TEST::CASE` (so a panic, the leak check's coverage line and every assertion message
//! name the case), and fails listing every row that failed, not only the first.

/// Runs `check` on every `(name, case)` row; panics naming each failed row.
pub fn run<C: Send + 'static>(
    test: &str,
    rows: Vec<(&'static str, C)>,
    check: fn(&'static str, C),
) {
    assert!(!rows.is_empty(), "{test}: the table has no rows");
    let mut names = std::collections::BTreeSet::new();
    for (name, _) in &rows {
        assert!(names.insert(*name), "{test}: two rows are named {name}");
    }
    let running: Vec<_> = rows
        .into_iter()
        .map(|(name, case)| {
            let thread = std::thread::Builder::new()
                .name(format!("{test}::{name}"))
                .spawn(move || check(name, case))
                .unwrap();
            (name, thread)
        })
        .collect();
    let count = running.len();
    let failed: Vec<&str> = running
        .into_iter()
        .filter_map(|(name, t)| t.join().is_err().then_some(name))
        .collect();
    assert!(
        failed.is_empty(),
        "{test}: {} of {count} cases failed (their panics are above): {}",
        failed.len(),
        failed.join(", ")
    );
}
