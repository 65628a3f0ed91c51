//! The CLI renders; it does not decide. Every `errno`, `rule` and `source`
//! that `--json` prints comes from the library's types (`Rejection::to_json`,
//! `Outcome::to_json`), so none may be spelled out in the CLI's own code.

#[test]
fn the_cli_spells_out_no_errno_rule_or_source_of_its_own() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // The CLI's own tests may name what they expect.
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (n, line) in code.lines().enumerate() {
            for field in [
                "\"errno\"",
                "\"rule\"",
                "\"source\"",
                "\"reason\"",
                "Errno::E",
            ] {
                assert!(
                    !line.contains(field),
                    "{}:{}: {field} is the library's to say: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}
