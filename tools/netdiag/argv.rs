//! Which tool a command line asks for, before clap sees it: one netdiag binary is also tcpping
//! and nameresolver (as `netdiag tcpping ...`, or when copied to a file named after the tool),
//! and `tnc` takes Test-NetConnection's own PowerShell spelling so a line copied from Azure's
//! documentation works with `netdiag` in front.

use std::ffi::{OsStr, OsString};
use std::path::Path;

/// The tool a command line runs, with the arguments to hand it (program name first).
#[derive(Debug, PartialEq, Eq)]
pub enum Tool {
    Tcpping(Vec<OsString>),
    Nameresolver(Vec<OsString>),
    Netdiag(Vec<OsString>),
}

/// The bundled tools, by the name that selects them.
const BUNDLED: [&str; 2] = ["tcpping", "nameresolver"];

pub fn route(args: Vec<OsString>) -> Tool {
    let program_name = args.first().map(|p| program_stem(p)).unwrap_or_default();
    if let Some(tool) = bundled(&program_name, args.clone()) {
        return tool;
    }
    if let Some(sub) = args.get(1).and_then(|a| a.to_str()) {
        // The subcommand gets the rest of the line, with its own name as the program name.
        if let Some(tool) = bundled(sub, args[1..].to_vec()) {
            return tool;
        }
        if sub.eq_ignore_ascii_case("test-netconnection") || sub == "tnc" {
            let mut rewritten = vec![args[0].clone(), OsString::from("tnc")];
            rewritten.extend(powershell_to_clap(&args[2..]));
            return Tool::Netdiag(rewritten);
        }
    }
    Tool::Netdiag(args)
}

fn bundled(name: &str, args: Vec<OsString>) -> Option<Tool> {
    match BUNDLED.iter().find(|b| **b == name)? {
        &"tcpping" => Some(Tool::Tcpping(args)),
        _ => Some(Tool::Nameresolver(args)),
    }
}

/// The file name without directory or extension: `C:\home\TCPPING.EXE` gives `tcpping`.
/// Windows file names ignore case, so there the stem is lower-cased; on Unix `TcpPing` is
/// another file and stays netdiag.
fn program_stem(program: &OsStr) -> String {
    // A Windows path may reach a Unix build (wine passes `C:\...`), so split on both.
    let text = program.to_string_lossy();
    let file = text.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    if cfg!(windows) { stem.to_ascii_lowercase() } else { stem }
}

/// Test-NetConnection's parameters, as PowerShell spells them (one dash, any case), mapped to
/// tnc's options. `-ComputerName X` is the positional host.
const POWERSHELL_PARAMETERS: [(&str, Option<&str>); 4] = [
    ("computername", None),
    ("port", Some("--port")),
    ("commontcpport", Some("--common-tcp-port")),
    ("informationlevel", Some("--information-level")),
];

fn powershell_to_clap(args: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::with_capacity(args.len());
    for arg in args {
        let Some(text) = arg.to_str() else {
            out.push(arg.clone());
            continue;
        };
        let Some(name_and_value) = text.strip_prefix('-').filter(|t| !t.starts_with('-')) else {
            out.push(arg.clone());
            continue;
        };
        // PowerShell also accepts `-Port:443`.
        let (name, value) = match name_and_value.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (name_and_value, None),
        };
        let lower = name.to_ascii_lowercase();
        match POWERSHELL_PARAMETERS.iter().find(|(ps, _)| *ps == lower) {
            Some((_, Some(long))) => {
                out.push(OsString::from(long));
                out.extend(value.map(OsString::from));
            }
            Some((_, None)) => out.extend(value.map(OsString::from)),
            None => out.push(arg.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn subcommands_and_program_names_pick_the_tool() {
        let cases = [
            ("netdiag tcpping 127.0.0.1:1 -n 1", Tool::Tcpping(args("tcpping 127.0.0.1:1 -n 1"))),
            ("netdiag nameresolver a.test", Tool::Nameresolver(args("nameresolver a.test"))),
            ("/opt/bin/tcpping 127.0.0.1", Tool::Tcpping(args("/opt/bin/tcpping 127.0.0.1"))),
            (r"C:\home\nameresolver.exe x", Tool::Nameresolver(args(r"C:\home\nameresolver.exe x"))),
            ("netdiag check x", Tool::Netdiag(args("netdiag check x"))),
            ("./netdiag-copy tcpping", Tool::Tcpping(args("tcpping"))),
            ("netdiag", Tool::Netdiag(args("netdiag"))),
        ];
        for (line, want) in cases {
            assert_eq!(route(args(line)), want, "{line}");
        }
    }

    #[test]
    fn program_name_case_follows_the_os() {
        let got = route(args(r"C:\home\TCPPING.EXE 127.0.0.1"));
        if cfg!(windows) {
            assert!(matches!(got, Tool::Tcpping(_)));
        } else {
            assert!(matches!(got, Tool::Netdiag(_)));
        }
    }

    #[test]
    fn test_netconnection_spelling() {
        let cases = [
            ("netdiag tnc h -Port 443", "netdiag tnc h --port 443"),
            ("netdiag Test-NetConnection h -port 443", "netdiag tnc h --port 443"),
            ("netdiag test-netconnection -ComputerName h -PORT:443", "netdiag tnc h --port 443"),
            (
                "netdiag tnc h -CommonTCPPort RDP -InformationLevel Detailed",
                "netdiag tnc h --common-tcp-port RDP --information-level Detailed",
            ),
            ("netdiag tnc h -p 80 --json -w 2s", "netdiag tnc h -p 80 --json -w 2s"),
            ("netdiag tnc h -Bogus 1", "netdiag tnc h -Bogus 1"),
        ];
        for (line, want) in cases {
            assert_eq!(route(args(line)), Tool::Netdiag(args(want)), "{line}");
        }
    }
}
