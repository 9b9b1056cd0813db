//! `netdiag subnet`: sizing numbers field by field, text and JSON, and bad input.

// The shared harness reports skipped namespace tests on stderr.
mod support;

use support::{Run, run, tool};

fn subnet(args: &[&str]) -> Run {
    let mut cmd = tool("netdiag");
    cmd.arg("subnet").args(args);
    run(cmd)
}

#[test]
fn json_fields_for_documented_sizes() {
    // (args, prefix, total, available, max instances, verdict, exit code)
    let cases: &[(&[&str], u64, u64, u64, u64, &str, i32)] = &[
        (&["/28", "--json"], 28, 16, 11, 5, "below_recommendation", 0),
        (&["/27", "--json"], 27, 32, 27, 13, "below_recommendation", 0),
        (&["26", "--json"], 26, 64, 59, 29, "recommended", 0),
        (&["10.0.0.0/26", "--json"], 26, 64, 59, 29, "recommended", 0),
        (&["/26", "--os", "windows", "--json"], 26, 64, 59, 29, "below_recommendation", 0),
        (&["/24", "--os", "Windows", "--json"], 24, 256, 251, 125, "recommended", 0),
        (&["/29", "--json"], 29, 8, 3, 1, "too_small", 1),
        (&["/32", "--json"], 32, 1, 0, 0, "too_small", 1),
    ];
    for (args, prefix, total, available, instances, verdict, code) in cases {
        let r = subnet(args);
        r.expect_code(*code);
        let v = r.json();
        assert_eq!(v["prefix"], *prefix, "{r}");
        assert_eq!(v["total_addresses"], *total, "{r}");
        assert_eq!(v["reserved_by_azure"], 5, "{r}");
        assert_eq!(v["available_addresses"], *available, "{r}");
        assert_eq!(v["max_instances"], *instances, "{r}");
        assert_eq!(v["verdict"], *verdict, "{r}");
        assert!(r.stderr().is_empty(), "{r}");
    }
}

#[test]
fn json_lists_reserved_addresses_of_a_network() {
    let r = subnet(&["10.20.30.64/27", "--json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["network"], "10.20.30.64/27");
    let kept: Vec<&str> =
        v["reserved_addresses"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(kept, ["10.20.30.64", "10.20.30.65", "10.20.30.66", "10.20.30.67", "10.20.30.95"]);
    assert_eq!(v["recommended_prefix"], 26);
}

#[test]
fn text_fields() {
    let r = subnet(&["/27"]);
    r.expect_code(0);
    let out = r.stdout();
    let field = |name: &str| -> String {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} line\n{r}"))
            .trim()
            .to_owned()
    };
    assert_eq!(field("Subnet:"), "/27");
    assert_eq!(field("Total addresses:"), "32");
    assert_eq!(field("Reserved by Azure:"), "5");
    assert_eq!(field("Available addresses:"), "27");
    assert!(field("Max instances:").starts_with("13 "), "{r}");
    assert!(field("Verdict:").contains("below the recommended /26"), "{r}");

    let r = subnet(&["/30"]);
    r.expect_code(1);
    assert!(r.stdout().contains("too small"), "{r}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    for args in [&["/33"][..], &["abc"], &["10.0.0.5/26"], &["fd00::/64"], &["-1"], &["10.0.0.0/"], &[""]] {
        let r = subnet(args);
        r.expect_code(2);
        let err = r.stderr();
        assert_eq!(err.lines().count(), 1, "{r}");
        assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{r}");
        assert!(r.stdout().is_empty(), "{r}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [&[][..], &["/26", "--os", "mac"], &["/26", "--bogus"]] {
        let r = subnet(args);
        r.expect_code(2);
        assert!(!r.stderr().contains("panicked"), "{r}");
    }
}
