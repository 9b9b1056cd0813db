//! Shell completions and man pages, generated from the same clap definitions the binaries
//! parse with, so they never drift from the real options. `dist.sh` calls these through the
//! hidden `netdiag completions` and `netdiag man` subcommands.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn command(tool: &str) -> clap::Command {
    match tool {
        "tcpping" => crate::tcpping::command(),
        "nameresolver" => crate::nameresolver::command(),
        _ => crate::Cli::command(),
    }
}

pub fn completions(shell: clap_complete::Shell, tool: &str, out: &mut dyn Write) {
    let mut cmd = command(tool);
    clap_complete::generate(shell, &mut cmd, tool, out);
}

/// Writes `netdiag.1`, one `netdiag-SUBCOMMAND.1` per visible subcommand, `tcpping.1` and
/// `nameresolver.1` into `dir`; returns their paths.
pub fn man_pages(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut write = |cmd: clap::Command, name: String| -> io::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut file = io::BufWriter::new(std::fs::File::create(&path)?);
        clap_mangen::Man::new(cmd.display_name(name.clone()).bin_name(name)).render(&mut file)?;
        file.flush()?;
        written.push(path);
        Ok(())
    };
    let netdiag = command("netdiag");
    for sub in netdiag.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The bundled tools get their own full pages below.
        if matches!(sub.get_name(), "tcpping" | "nameresolver") {
            continue;
        }
        write(sub.clone(), format!("netdiag-{}", sub.get_name()))?;
    }
    write(netdiag, "netdiag".into())?;
    write(command("tcpping"), "tcpping".into())?;
    write(command("nameresolver"), "nameresolver".into())?;
    Ok(written)
}
