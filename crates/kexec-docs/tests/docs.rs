//! The man pages and completions as `kexec-docs OUTDIR` writes them, for
//! kexec and for vmcore-dmesg: each page renders with `man -l` without a
//! warning and describes every option of its command exactly (none
//! missing, none invented); every example is a command line the command
//! accepts; the completion scripts are valid and offer the command's
//! options, and only those.

use clap::error::ErrorKind;
use kexec_cli::args::{self, Parsed, KEXEC_LOAD_ONLY};
use kexec_cli::run::{EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use kexec_cli::vmcore_args;
use kexec_docs::{vmcore_dmesg, EXAMPLES};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A temporary directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    /// Tests run in parallel threads: each directory gets its own number.
    fn new(name: &str) -> Dir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("kexec-docs-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the documented command, `kexec-docs OUTDIR`.
fn generate(out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kexec-docs"))
        .arg(out)
        .output()
        .expect("kexec-docs runs")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// kexec.8 as `man -l` shows it, 100 columns, plain text; fails on any
/// groff warning.
fn rendered(page: &Path) -> String {
    rendered_as(page, "KEXEC", "kexec")
}

/// A page of `command`, titled `title`, as `man -l` shows it.
fn rendered_as(page: &Path, title: &str, command: &str) -> String {
    assert!(
        have("man"),
        "man is not installed: `apt-get install man-db` (tests/run-all.sh does)"
    );
    let out = Command::new("man")
        .args(["--warnings=w", "-l", "-P", "cat"])
        .arg(page)
        .env("LC_ALL", "C.UTF-8")
        .env("MANWIDTH", "100")
        .env_remove("MANOPT")
        .env_remove("MANROFFOPT")
        .env_remove("MAN_KEEP_FORMATTING")
        .output()
        .expect("man runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man -l failed: {stderr}");
    assert!(stderr.trim().is_empty(), "man -l warns:\n{stderr}");
    let text = String::from_utf8(out.stdout).expect("man prints UTF-8");
    assert!(text.starts_with(&format!("{title}(8)")), "{text}");
    // The footer: source (left), date (centre, none), title.
    let footer = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    let footer: Vec<&str> = footer.split_whitespace().collect();
    assert_eq!(
        footer,
        [
            command,
            env!("CARGO_PKG_VERSION"),
            "(Rust)",
            &format!("{title}(8)")
        ],
        "{text}"
    );
    text
}

/// Every one of `titles` is a heading of the rendered page, in that order.
fn assert_sections_in_order(text: &str, titles: &[&str]) {
    let at: Vec<usize> = titles
        .iter()
        .map(|t| {
            text.find(&format!("\n{t}\n"))
                .unwrap_or_else(|| panic!("no section {t}:\n{text}"))
        })
        .collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "sections out of order: {titles:?} at {at:?}"
    );
}

/// Every one of `codes` begins a line of the page's EXIT STATUS.
fn assert_exit_statuses(text: &str, codes: &[i32]) {
    let exits = section(text, "EXIT STATUS");
    for code in codes {
        assert!(
            exits
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "{code}:\n{exits}"
        );
    }
}

/// Every one of `paths` is a line of its own in the page's FILES.
fn assert_files_listed(text: &str, paths: &[&str]) {
    let files = section(text, "FILES");
    for file in paths {
        assert!(files.lines().any(|l| l.trim() == *file), "{file}:\n{files}");
    }
}

fn page_text() -> String {
    let dir = Dir::new("page");
    let out = generate(&dir.0);
    assert!(out.status.success(), "{out:?}");
    rendered(&dir.0.join("kexec.8"))
}

/// The section `title` of the rendered page: its lines up to the next
/// heading (or the footer), both at column 0.
fn section<'a>(text: &'a str, title: &str) -> &'a str {
    let start = text
        .find(&format!("\n{title}\n"))
        .unwrap_or_else(|| panic!("no section {title}:\n{text}"))
        + title.len()
        + 2;
    let rest = &text[start..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| rest[i..].starts_with(|c: char| !c.is_whitespace()))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// An OPTIONS entry: the line that names the option and its description.
fn entry(options: &str, tag: &str) -> String {
    let lines: Vec<&str> = options.lines().collect();
    let first = lines
        .iter()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(tag)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '<']))
        })
        .unwrap_or_else(|| panic!("no entry {tag} in OPTIONS:\n{options}"));
    let mut out = vec![lines[first]];
    for line in &lines[first + 1..] {
        let indent = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && indent <= 7 {
            break;
        }
        out.push(line);
    }
    out.join("\n")
}

/// Every `--name` in `text`, without its `=value`.
fn long_options(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("--") {
        if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '-') {
            continue;
        }
        let name: String = text[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

/// The long names (and aliases) kexec takes, and those it refuses by name.
fn command_options(visible_only: bool) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for arg in args::command().get_arguments() {
        if visible_only && arg.is_hide_set() {
            continue;
        }
        names.extend(arg.get_long().map(String::from));
        names.extend(
            arg.get_all_aliases()
                .unwrap_or_default()
                .into_iter()
                .map(String::from),
        );
    }
    names
}

#[test]
fn the_documented_command_writes_both_pages_and_their_completions() {
    let dir = Dir::new("write");
    let out = generate(&dir.0);
    assert!(out.status.success(), "{out:?}");
    let listed: Vec<PathBuf> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    let expected: Vec<PathBuf> = [
        "kexec.8",
        "completions/kexec.bash",
        "completions/_kexec",
        "completions/kexec.fish",
        "vmcore-dmesg.8",
        "completions/vmcore-dmesg.bash",
        "completions/_vmcore-dmesg",
        "completions/vmcore-dmesg.fish",
    ]
    .iter()
    .map(|f| dir.0.join(f))
    .collect();
    assert_eq!(listed, expected);
    for file in &expected {
        assert!(
            std::fs::metadata(file).unwrap().len() > 0,
            "{}",
            file.display()
        );
    }
    // The same text the library renders: the binary adds nothing.
    assert_eq!(
        std::fs::read_to_string(&expected[0]).unwrap(),
        kexec_docs::man_page()
    );
    assert_eq!(
        std::fs::read_to_string(&expected[4]).unwrap(),
        kexec_docs::vmcore_dmesg::man_page()
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_kexec-docs"))
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("usage: kexec-docs OUTDIR"));
}

#[test]
fn the_page_renders_and_describes_every_option_and_no_other() {
    let text = page_text();
    let titles = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "KERNEL FILES",
        "KEXEC-TOOLS OPTIONS NOT SUPPORTED",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ];
    assert_sections_in_order(&text, &titles);

    // Every option the page names is one kexec takes or refuses by name...
    let known = command_options(false);
    let named = long_options(&text);
    let invented: Vec<_> = named.difference(&known).collect();
    assert!(
        invented.is_empty(),
        "the page names options kexec does not have: {invented:?}"
    );
    // ...every one kexec takes has its OPTIONS entry, aliases included...
    let options = section(&text, "OPTIONS");
    for arg in args::command().get_arguments() {
        if arg.is_hide_set() || arg.is_positional() {
            continue;
        }
        let long = arg.get_long().expect("every kexec option has a long name");
        let tag = match arg.get_short() {
            Some(s) => format!("-{s}, --{long}"),
            None => format!("--{long}"),
        };
        let entry = entry(options, &tag);
        for alias in arg.get_all_aliases().unwrap_or_default() {
            assert!(entry.contains(&format!("--{alias}")), "{entry}");
        }
        for alias in arg.get_all_short_aliases().unwrap_or_default() {
            assert!(entry.contains(&format!("-{alias}")), "{entry}");
        }
        let help = arg
            .get_help()
            .expect("every visible option has help")
            .to_string();
        let first_words: String = help
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            entry
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&first_words.replace('`', "\"")),
            "{tag}'s entry lacks its help {help:?}:\n{entry}"
        );
        // ...with the architecture whose kexec has it, and whether only
        // kexec_load honours it.
        let id = arg.get_id().as_str();
        let flat = entry.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(arch) = args::option_architecture(id) {
            assert!(flat.contains(&format!("Only on {arch}")), "{flat}");
        } else {
            assert!(!flat.contains("Only on "), "{flat}");
        }
        assert_eq!(
            flat.contains("Only kexec_load honours it"),
            KEXEC_LOAD_ONLY.contains(&id),
            "{flat}"
        );
    }
    // ...and every one it refuses is listed with the reason it gives.
    let refused = section(&text, "KEXEC-TOOLS OPTIONS NOT SUPPORTED");
    let refused_flat = refused.split_whitespace().collect::<Vec<_>>().join(" ");
    for (name, why) in args::refused_options() {
        assert!(
            refused_flat.contains(&format!("--{name} {why}")),
            "--{name}:\n{refused}"
        );
    }
    assert!(
        known.iter().all(|o| named.contains(o)),
        "{:?}",
        known.difference(&named).collect::<Vec<_>>()
    );

    assert_exit_statuses(&text, &[EXIT_OK, EXIT_USAGE, EXIT_FAILED]);
    assert_files_listed(
        &text,
        &[
            "/proc/iomem",
            "/proc/cmdline",
            "/sys/kernel/kexec_loaded",
            "/sys/kernel/kexec_crash_loaded",
            "/sys/kernel/kexec_crash_size",
            "/sys/firmware/fdt",
            "/boot/config-release",
            "/run/kexec/crash.json",
            "/etc/default/kexec",
            "/etc/init.d/kexec-load",
        ],
    );
    let see_also = section(&text, "SEE ALSO");
    for page in [
        "kexec_load(2)",
        "kexec_file_load(2)",
        "reboot(2)",
        "vmcore-dmesg(8)",
    ] {
        assert!(see_also.contains(page), "{page}:\n{see_also}");
    }
}

/// Shell words: blanks split, double quotes group.
fn words(line: &str) -> Vec<OsString> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(OsString::from(std::mem::take(&mut word)));
                }
            }
            c => word.push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes in {line}");
    if !word.is_empty() {
        words.push(OsString::from(word));
    }
    words
}

#[test]
fn every_example_is_shown_and_is_a_command_line_kexec_accepts() {
    let text = page_text();
    let examples = section(&text, "EXAMPLES");
    for example in &EXAMPLES {
        let arches = match example.arch {
            Some(arch) => vec![arch],
            None => vec!["x86_64", "aarch64"],
        };
        for command in example.commands {
            assert!(
                examples.lines().any(|l| l.trim() == *command),
                "{command}:\n{examples}"
            );
            let argv = words(command);
            assert_eq!(argv[0], "kexec");
            for arch in &arches {
                match args::parse_for(arch, argv.clone()) {
                    Parsed::Run(_) => {}
                    other => panic!("{arch}: {command}: {other:?}"),
                }
            }
        }
    }
    // An architecture's own options, on the other one, are refused: the
    // test above would notice an example that is not marked with its own.
    let arm64 = EXAMPLES.iter().find(|e| e.arch == Some("aarch64")).unwrap();
    assert!(matches!(
        args::parse_for("x86_64", words(arm64.commands[0])),
        Parsed::Usage(_)
    ));
}

fn run_shell(shell: &str, script: &str) -> Output {
    Command::new(shell)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("{shell}: {e}"))
}

/// What bash's completion `function` (from `script`) offers for `words`,
/// the command line typed so far, the last word being completed.
fn bash_complete(script: &Path, function: &str, command: &str, words: &str) -> Vec<String> {
    let script = format!(
        "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
         COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}; \
         {function} {command} \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display()
    );
    let out = run_shell("bash", &script);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[test]
fn the_completions_are_valid_and_offer_exactly_the_options_kexec_takes() {
    let dir = Dir::new("completions");
    assert!(generate(&dir.0).status.success());
    let file = |name: &str| dir.0.join("completions").join(name);
    let read = |name: &str| std::fs::read_to_string(file(name)).unwrap();
    let (bash, zsh, fish) = (read("kexec.bash"), read("_kexec"), read("kexec.fish"));

    let visible = command_options(true);
    let refused: Vec<&str> = args::refused_options().map(|(name, _)| name).collect();
    for name in &visible {
        assert!(bash.contains(&format!("--{name}")), "bash: --{name}");
        assert!(
            zsh.contains(&format!("--{name}[")) || zsh.contains(&format!("--{name}=[")),
            "zsh: --{name}"
        );
        assert!(
            fish.contains(&format!("-l {name} ")) || fish.contains(&format!("-l {name}\n")),
            "fish: --{name}"
        );
    }
    for name in refused {
        let opt = format!("--{name}");
        assert!(
            !bash.contains(&opt) && !zsh.contains(&opt),
            "{opt} is refused, not offered"
        );
        assert!(
            !fish.contains(&format!("-l {name} ")),
            "{opt} is refused, not offered"
        );
    }
    assert!(
        zsh.starts_with("#compdef kexec"),
        "zsh needs #compdef to autoload _kexec"
    );

    // bash: valid, and completing really works.
    let syntax = run_shell("bash", &format!("bash -n {}", file("kexec.bash").display()));
    assert!(syntax.status.success(), "{syntax:?}");
    let complete = |words: &str| bash_complete(&file("kexec.bash"), "_kexec", "kexec", words);
    assert_eq!(complete("kexec --reuse-c"), ["--reuse-cmdline"]);
    // --hotplug is an option now; --reuseinitrd is still refused.
    assert_eq!(complete("kexec --hotpl"), ["--hotplug"]);
    assert_eq!(complete("kexec --reusein"), Vec::<String>::new());
    let types = complete("kexec -t ''");
    for format in kexec::image::FORMATS {
        assert!(
            types.iter().any(|t| t == format.name()),
            "-t {}: {types:?}",
            format.name()
        );
    }

    // zsh and fish: checked by the shell where it is installed.
    if have("zsh") {
        let out = run_shell("zsh", &format!("zsh -n {}", file("_kexec").display()));
        assert!(out.status.success(), "{out:?}");
    }
    if have("fish") {
        let out = run_shell(
            "fish",
            &format!("fish --no-execute {}", file("kexec.fish").display()),
        );
        assert!(out.status.success(), "{out:?}");
    }
}

// --- vmcore-dmesg(8) ---------------------------------------------------------

/// vmcore-dmesg's parser as the binary runs it, built (so that clap's own
/// -h/--help and -V/--version are among its arguments).
fn vmcore_dmesg_command() -> clap::Command {
    let mut cmd = vmcore_args::command();
    cmd.build();
    cmd
}

fn vmcore_dmesg_page() -> String {
    let dir = Dir::new("vmcore-dmesg-page");
    let out = generate(&dir.0);
    assert!(out.status.success(), "{out:?}");
    rendered_as(
        &dir.0.join("vmcore-dmesg.8"),
        "VMCORE-DMESG",
        "vmcore-dmesg",
    )
}

/// makedumpfile's options the page names (its EXAMPLES and DESCRIPTION
/// say what to use on a dump that is not ELF): not vmcore-dmesg's.
const MAKEDUMPFILE_OPTIONS: [&str; 1] = ["dump-dmesg"];

#[test]
fn the_vmcore_dmesg_page_names_every_argument_its_parser_takes_and_no_other() {
    let text = vmcore_dmesg_page();
    let titles = [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ];
    assert_sections_in_order(&text, &titles);

    // Every argument the parser takes is in SYNOPSIS and has its OPTIONS
    // entry, with its short name and aliases...
    let cmd = vmcore_dmesg_command();
    let synopsis = section(&text, "SYNOPSIS");
    let options = section(&text, "OPTIONS");
    let mut longs = BTreeSet::new();
    let mut positionals = 0;
    for arg in cmd.get_arguments() {
        assert!(!arg.is_hide_set(), "{}: a hidden argument", arg.get_id());
        if arg.is_positional() {
            positionals += 1;
            let name = format!("<{}>", arg.get_value_names().expect("a value name")[0]);
            assert!(synopsis.contains(&name), "{name}:\n{synopsis}");
            let entry = entry(options, &name);
            assert!(entry.contains("/proc/vmcore"), "{entry}");
            continue;
        }
        let long = arg.get_long().expect("every option has a long name");
        longs.insert(long.to_string());
        let tag = match arg.get_short() {
            Some(s) => format!("-{s}, --{long}"),
            None => format!("--{long}"),
        };
        let entry = entry(options, &tag);
        assert!(
            entry.lines().count() > 1,
            "{tag} has no description:\n{entry}"
        );
        assert!(
            synopsis.contains(&format!("--{long}")),
            "--{long}:\n{synopsis}"
        );
        for alias in arg.get_all_aliases().unwrap_or_default() {
            longs.insert(alias.to_string());
            assert!(entry.contains(&format!("--{alias}")), "{entry}");
        }
        for alias in arg.get_all_short_aliases().unwrap_or_default() {
            assert!(entry.contains(&format!("-{alias}")), "{entry}");
        }
    }
    assert_eq!(positionals, 1, "vmcore-dmesg takes one VMCORE");
    assert!(
        longs.contains("help") && longs.contains("version"),
        "{longs:?}"
    );

    // ...and every option the page names is one the parser takes (not an
    // unknown argument to it), but makedumpfile's.
    for name in long_options(&text) {
        if MAKEDUMPFILE_OPTIONS.contains(&name.as_str()) {
            continue;
        }
        assert!(
            longs.contains(&name),
            "the page names --{name}, which vmcore-dmesg does not take"
        );
        let parsed =
            vmcore_dmesg_command().try_get_matches_from(["vmcore-dmesg", &format!("--{name}")]);
        let kind = parsed.err().map(|e| e.kind());
        assert!(
            matches!(
                kind,
                Some(ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
            ),
            "--{name}: {kind:?}"
        );
    }
    for name in MAKEDUMPFILE_OPTIONS {
        assert!(text.contains(&format!("makedumpfile --{name}")), "--{name}");
    }

    // The exit statuses are the binary's.
    assert_exit_statuses(
        &text,
        &[
            vmcore_args::EXIT_OK,
            vmcore_args::EXIT_USAGE,
            vmcore_args::EXIT_FAILED,
        ],
    );
    // The log's formats the reader knows, and a line as it prints one.
    let description = section(&text, "DESCRIPTION");
    for what in [
        "VMCOREINFO",
        "Linux 5.10 and later",
        "Linux 3.5 to 5.9",
        "before Linux 3.5",
        "/proc/vmcore",
    ] {
        assert!(description.contains(what), "{what}:\n{description}");
    }
    let sample = format!(
        "{}{}",
        kexec::vmcore::dmesg::timestamp(vmcore_dmesg::SAMPLE_NSEC),
        vmcore_dmesg::SAMPLE_TEXT
    );
    assert!(sample.starts_with("[   12.345678] "), "{sample}");
    assert!(
        description.lines().any(|l| l.trim() == sample),
        "{sample}:\n{description}"
    );
    assert_files_listed(&text, &["/proc/vmcore"]);
    let see_also = section(&text, "SEE ALSO");
    for page in ["kexec(8)", "makedumpfile(8)"] {
        assert!(see_also.contains(page), "{page}:\n{see_also}");
    }
}

#[test]
fn every_vmcore_dmesg_example_is_shown_and_is_a_command_line_it_accepts() {
    let text = vmcore_dmesg_page();
    let examples = section(&text, "EXAMPLES");
    let mut ours = 0;
    for example in &vmcore_dmesg::EXAMPLES {
        assert_eq!(
            example.arch, None,
            "vmcore-dmesg has no architecture's options"
        );
        for command in example.commands {
            assert!(
                examples.lines().any(|l| l.trim() == *command),
                "{command}:\n{examples}"
            );
            // The command itself: its words up to a redirection or a pipe.
            let argv: Vec<OsString> = words(command)
                .into_iter()
                .take_while(|w| w != ">" && w != "|")
                .collect();
            match argv[0].to_str() {
                Some("vmcore-dmesg") => {
                    ours += 1;
                    let m = vmcore_dmesg_command()
                        .try_get_matches_from(&argv)
                        .unwrap_or_else(|e| panic!("{command}: {e}"));
                    assert!(m.get_one::<PathBuf>("vmcore").is_some(), "{command}");
                }
                Some("makedumpfile") => {}
                _ => panic!("{command}: neither vmcore-dmesg nor makedumpfile"),
            }
        }
    }
    assert!(ours >= vmcore_dmesg::EXAMPLES.len(), "{ours}");
}

#[test]
fn the_vmcore_dmesg_completions_are_valid_and_offer_its_options() {
    let dir = Dir::new("vmcore-dmesg-completions");
    assert!(generate(&dir.0).status.success());
    let file = |name: &str| dir.0.join("completions").join(name);
    let read = |name: &str| std::fs::read_to_string(file(name)).unwrap();
    let (bash, zsh, fish) = (
        read("vmcore-dmesg.bash"),
        read("_vmcore-dmesg"),
        read("vmcore-dmesg.fish"),
    );
    let cmd = vmcore_dmesg_command();
    for arg in cmd.get_arguments().filter(|a| !a.is_positional()) {
        let name = arg.get_long().unwrap();
        assert!(bash.contains(&format!("--{name}")), "bash: --{name}");
        assert!(zsh.contains(&format!("--{name}[")), "zsh: --{name}");
        assert!(fish.contains(&format!("-l {name} ")), "fish: --{name}");
    }
    assert!(
        zsh.starts_with("#compdef vmcore-dmesg"),
        "zsh needs #compdef to autoload _vmcore-dmesg"
    );
    // VMCORE is a file name: zsh completes files there.
    assert!(zsh.contains(":_files"), "{zsh}");

    let path = file("vmcore-dmesg.bash");
    let syntax = run_shell("bash", &format!("bash -n {}", path.display()));
    assert!(syntax.status.success(), "{syntax:?}");
    let complete = |words: &str| bash_complete(&path, "_vmcore__dmesg", "vmcore-dmesg", words);
    assert_eq!(complete("vmcore-dmesg --he"), ["--help"]);
    assert_eq!(complete("vmcore-dmesg --vers"), ["--version"]);
    assert_eq!(complete("vmcore-dmesg --no-such"), Vec::<String>::new());
    // No word of its own for VMCORE: bash falls back to file names.
    assert_eq!(complete("vmcore-dmesg /pro"), Vec::<String>::new());
    let spec = run_shell(
        "bash",
        &format!("source {}; complete -p vmcore-dmesg", path.display()),
    );
    assert!(
        String::from_utf8_lossy(&spec.stdout).contains("-o default"),
        "{spec:?}"
    );

    if have("zsh") {
        let out = run_shell(
            "zsh",
            &format!("zsh -n {}", file("_vmcore-dmesg").display()),
        );
        assert!(out.status.success(), "{out:?}");
    }
    if have("fish") {
        let out = run_shell(
            "fish",
            &format!("fish --no-execute {}", file("vmcore-dmesg.fish").display()),
        );
        assert!(out.status.success(), "{out:?}");
    }
}
