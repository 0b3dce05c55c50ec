//! The README's table of audit events is the vocabulary the code writes:
//! every name the code may use is documented, and every documented name
//! exists. (Writing an unlisted name fails a debug build's assertion, so
//! the test suite catches an event added without its line here.)

use std::collections::BTreeSet;

use aiapi::domain::events::EVENT_NAMES;

/// The backticked names in the first column of the table that follows
/// "Events recorded besides tool calls".
fn documented() -> BTreeSet<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split_once("Events recorded besides tool calls")
        .expect("the README has the events section")
        .1;
    section
        .lines()
        .skip_while(|line| !line.starts_with("| events |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .flat_map(|row| {
            let first = row.split('|').nth(1).unwrap_or_default();
            first
                .split(',')
                .map(|name| name.trim().trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_readme_lists_every_audit_event_and_no_other() {
    let documented = documented();
    assert!(
        documented.len() >= 20,
        "the table was found: {documented:?}"
    );
    let written: BTreeSet<String> = EVENT_NAMES.iter().map(|s| s.to_string()).collect();
    let undocumented: Vec<_> = written.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&written).collect();
    assert!(
        undocumented.is_empty(),
        "events missing from the README: {undocumented:?}"
    );
    assert!(
        unknown.is_empty(),
        "README events the code never writes: {unknown:?}"
    );
}
