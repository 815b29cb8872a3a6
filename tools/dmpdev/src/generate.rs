// SPDX-License-Identifier: GPL-2.0
//! Man pages and shell completions of a tool, generated from its clap
//! definition at package build time (`TOOL --generate KIND DIR`, a hidden
//! option: ripgrep does the same), so that they always match the options the
//! tool takes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Command;
use clap_complete::Shell;

/// The section of the manual the tools are in: administration commands
/// (they are installed in /usr/sbin and need root).
pub const MAN_SECTION: &str = "8";

/// What `--generate` writes, and the file name each gets in DIR.
const KINDS: &str = "man, bash, zsh, fish";

/// Handles `TOOL --generate KIND DIR` when those are the arguments: writes
/// the files and returns the exit code; any other command line returns None.
pub fn handle(cmd: impl FnOnce() -> Command) -> Option<ExitCode> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().map(|a| a.as_os_str()) != Some("--generate".as_ref()) {
        return None;
    }
    let cmd = cmd();
    let name = cmd.get_name().to_string();
    let (kind, dir) = match &args[1..] {
        [k, d] => (k.to_string_lossy().into_owned(), PathBuf::from(d)),
        _ => {
            eprintln!("{name}: usage: {name} --generate KIND DIR (KIND: {KINDS})");
            return Some(ExitCode::from(2));
        }
    };
    match write(cmd, &kind, &dir) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            Some(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{name}: --generate {kind}: {e}");
            Some(ExitCode::from(1))
        }
    }
}

/// Writes the KIND files of CMD into DIR; returns their paths.
pub fn write(mut cmd: Command, kind: &str, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let name = cmd.get_name().to_string();
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let shell = match kind {
        "man" => return man_pages(cmd, dir),
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        _ => return Err(format!("unknown KIND (one of {KINDS})")),
    };
    // The names bash-completion, zsh and fish look for.
    let file = dir.join(match shell {
        Shell::Zsh => format!("_{name}"),
        Shell::Fish => format!("{name}.fish"),
        _ => name.clone(),
    });
    let mut out = std::fs::File::create(&file).map_err(|e| io(&file, e))?;
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    Ok(vec![file])
}

/// One page for the tool and one for each subcommand (`dmpctl-attach.8`),
/// which the tool's page lists.
fn man_pages(cmd: Command, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let version = cmd.get_version().unwrap_or_default().to_string();
    let mut pages = vec![cmd.clone()];
    let mut cmd = cmd;
    cmd.build();
    for sub in cmd.get_subcommands() {
        if sub.get_name() != "help" {
            pages.push(sub.clone());
        }
    }
    for (i, page) in pages.into_iter().enumerate() {
        let page = if i == 0 {
            page
        } else {
            // The subcommand's page is named and titled as git's are.
            let full = format!("{}-{}", cmd.get_name(), page.get_name());
            page.name(full).version(version.clone())
        };
        let file = dir.join(format!("{}.{MAN_SECTION}", page.get_name()));
        let details = page
            .get_after_long_help()
            .or(page.get_after_help())
            .map(|t| t.to_string());
        let man = clap_mangen::Man::new(page)
            .section(MAN_SECTION)
            .source(format!("dmp {version}"))
            .manual("System Administration");
        let mut text = Vec::new();
        let render = |text: &mut Vec<u8>| -> std::io::Result<()> {
            man.render_title(text)?;
            man.render_name_section(text)?;
            man.render_synopsis_section(text)?;
            man.render_description_section(text)?;
            man.render_options_section(text)?;
            man.render_subcommands_section(text)?;
            // The tool's --help epilogue is laid out in columns: kept as it
            // is (no filling), under a heading of its own.
            if let Some(d) = &details {
                text.extend_from_slice(b".SH DETAILS\n.nf\n");
                for line in d.lines() {
                    text.extend_from_slice(roff_line(line).as_bytes());
                    text.push(b'\n');
                }
                text.extend_from_slice(b".fi\n");
            }
            man.render_version_section(text)
        };
        render(&mut text).map_err(|e| e.to_string())?;
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        files.push(file);
    }
    Ok(files)
}

/// A line of text as roff prints it literally: backslashes escaped, and a
/// line that would read as a request (leading `.` or `'`) protected.
fn roff_line(line: &str) -> String {
    let t = line.replace('\\', "\\e");
    if t.starts_with('.') || t.starts_with('\'') {
        format!("\\&{t}")
    } else {
        t
    }
}
