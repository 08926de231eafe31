//! Boot parameters: Linux-style `KEY=VALUE` words, validated against a table.
//!
//! The host hands the kernel one line of text (QEMU `fw_cfg`, file
//! `opt/gort/cmdline`). This module turns it into typed values, and refuses
//! anything it does not understand. The rule, as for Go's own flag package:
//! a typo must never be silently ignored, since a benchmark run with a misspelt
//! `GOMAXPROCS` would measure the wrong thing without anyone noticing.
//!
//! ## Algorithm
//! 1. Split the line on ASCII whitespace into words.
//! 2. Split each word at its first `=` into key and value (the value may itself
//!    contain `=` and `,`, as in `GODEBUG=schedtrace=1000,gctrace=1`). A word
//!    without `=`, or with an empty key or value, is malformed.
//! 3. Look the key up in the caller's [`Spec`] table (exact, case-sensitive match,
//!    as Go's environment variables). An unknown key is an error that carries the
//!    table so the message can list the valid keys.
//! 4. Check the value against the key's [`Kind`]: an unsigned integer in range
//!    (decimal, or hex with `0x`, with an optional `k`/`m`/`g` binary suffix for
//!    sizes), one of a fixed set of words, or free text checked later by its user.
//! 5. A key given twice is an error: two values cannot both be meant.
//!
//! ## Invariants
//! - [`Params`] never allocates: values borrow from the input line, which lives as
//!   long as the kernel (it is copied once into a static buffer at boot).
//! - Every error names the offending word and what was expected.
use core::fmt;

/// What values a key accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An unsigned integer in `min..=max`; decimal or `0x` hex, with an optional
    /// binary size suffix `k`, `m` or `g` (x1024, x1024², x1024³).
    Uint { min: u64, max: u64 },
    /// Exactly one of these words.
    Choice(&'static [&'static str]),
    /// Any non-empty text; its user validates it (e.g. `GODEBUG`'s sub-options).
    Text,
}

/// One accepted key.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub key: &'static str,
    pub kind: Kind,
    /// One line for the error message and the README.
    pub help: &'static str,
}

/// A parsed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Uint(u64),
    Choice(&'static str),
    Text(&'a str),
}

/// Why a command line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error<'a> {
    /// A word with no `=`, or an empty key or value.
    Malformed { word: &'a str },
    /// A key not in the table.
    UnknownKey { key: &'a str },
    /// A value that does not fit the key's [`Kind`].
    BadValue { key: &'static str, value: &'a str, kind: Kind },
    /// The same key twice.
    Duplicate { key: &'static str },
    /// More distinct keys than [`MAX_PARAMS`].
    TooMany,
}

/// How many distinct keys one command line may carry.
pub const MAX_PARAMS: usize = 32;

/// The validated parameters of one command line.
#[derive(Clone, Debug, Default)]
pub struct Params<'a> {
    entries: [Option<(&'static str, Value<'a>)>; MAX_PARAMS],
    len: usize,
}

impl<'a> Params<'a> {
    /// The value given for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        self.entries[..self.len].iter().flatten().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The integer given for `key` (a `Kind::Uint` key), if any.
    pub fn uint(&self, key: &str) -> Option<u64> {
        match self.get(key)? {
            Value::Uint(n) => Some(n),
            _ => None,
        }
    }

    /// The word given for `key` (a `Kind::Choice` or `Kind::Text` key), if any.
    pub fn word(&self, key: &str) -> Option<&'a str> {
        match self.get(key)? {
            Value::Choice(s) => Some(s),
            Value::Text(s) => Some(s),
            Value::Uint(_) => None,
        }
    }

    /// All parameters in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Value<'a>)> + '_ {
        self.entries[..self.len].iter().flatten().copied()
    }
}

/// Parses `line` against the tables `specs` (the runtime's keys, then a
/// program's own). See the module essay for the rules.
pub fn parse<'a>(line: &'a str, specs: &[&[Spec]]) -> Result<Params<'a>, Error<'a>> {
    let mut params = Params::default();
    for word in line.split_ascii_whitespace() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => (k, v),
            _ => return Err(Error::Malformed { word }),
        };
        let spec = specs.iter().flat_map(|t| t.iter()).find(|s| s.key == key).ok_or(Error::UnknownKey { key })?;
        if params.get(spec.key).is_some() {
            return Err(Error::Duplicate { key: spec.key });
        }
        let parsed = parse_value(value, spec.kind).ok_or(Error::BadValue { key: spec.key, value, kind: spec.kind })?;
        if params.len == MAX_PARAMS {
            return Err(Error::TooMany);
        }
        params.entries[params.len] = Some((spec.key, parsed));
        params.len += 1;
    }
    Ok(params)
}

fn parse_value(value: &str, kind: Kind) -> Option<Value<'_>> {
    match kind {
        Kind::Uint { min, max } => {
            let n = parse_uint(value)?;
            (min..=max).contains(&n).then_some(Value::Uint(n))
        }
        Kind::Choice(words) => words.iter().find(|w| **w == value).map(|w| Value::Choice(w)),
        Kind::Text => Some(Value::Text(value)),
    }
}

/// Parses `123`, `0x7b`, `64k`, `2m`, `1g` (binary multiples). Rejects signs,
/// empty digits and overflow.
pub fn parse_uint(s: &str) -> Option<u64> {
    let (digits, shift) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 10),
        b'm' | b'M' => (&s[..s.len() - 1], 20),
        b'g' | b'G' => (&s[..s.len() - 1], 30),
        _ => (s, 0),
    };
    let n = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(hex, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits.parse::<u64>().ok()?,
        None => return None,
    };
    n.checked_mul(1u64 << shift)
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Uint { min, max } => write!(f, "an integer in {min}..={max}"),
            Kind::Choice(words) => {
                f.write_str("one of ")?;
                for (i, w) in words.iter().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    f.write_str(w)?;
                }
                Ok(())
            }
            Kind::Text => f.write_str("non-empty text"),
        }
    }
}

impl fmt::Display for Error<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { word } => write!(f, "malformed boot parameter {word:?}: want KEY=VALUE"),
            Error::UnknownKey { key } => write!(f, "unknown boot parameter {key:?}"),
            Error::BadValue { key, value, kind } => {
                write!(f, "bad value {value:?} for boot parameter {key}: want {kind}")
            }
            Error::Duplicate { key } => write!(f, "boot parameter {key} given twice"),
            Error::TooMany => write!(f, "more than {MAX_PARAMS} boot parameters"),
        }
    }
}

/// Writes the table of valid keys, one per line, for error messages.
pub fn write_usage(f: &mut dyn fmt::Write, specs: &[&[Spec]]) -> fmt::Result {
    writeln!(f, "valid boot parameters:")?;
    for s in specs.iter().flat_map(|t| t.iter()) {
        writeln!(f, "  {}=<{}>  {}", s.key, s.kind, s.help)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[Spec] = &[
        Spec { key: "GOMAXPROCS", kind: Kind::Uint { min: 1, max: 256 }, help: "Ps" },
        Spec { key: "demo", kind: Kind::Choice(&["hello", "sieve"]), help: "demo" },
        Spec { key: "GODEBUG", kind: Kind::Text, help: "debug" },
        Spec { key: "stack", kind: Kind::Uint { min: 4096, max: 1 << 30 }, help: "size" },
    ];

    #[test]
    fn empty_line_is_no_params() {
        let p = parse("", &[SPECS]).unwrap();
        assert_eq!(p.iter().count(), 0);
        let p = parse("  \t \n", &[SPECS]).unwrap();
        assert_eq!(p.iter().count(), 0);
    }

    #[test]
    fn parses_each_kind() {
        let p = parse(" GOMAXPROCS=4  demo=sieve GODEBUG=schedtrace=1000,gctrace=1 stack=64k", &[SPECS]).unwrap();
        assert_eq!(p.uint("GOMAXPROCS"), Some(4));
        assert_eq!(p.word("demo"), Some("sieve"));
        assert_eq!(p.word("GODEBUG"), Some("schedtrace=1000,gctrace=1"));
        assert_eq!(p.uint("stack"), Some(65536));
        assert_eq!(p.get("missing"), None);
        let keys: Vec<_> = p.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["GOMAXPROCS", "demo", "GODEBUG", "stack"]);
    }

    #[test]
    fn a_programs_table_adds_keys_to_the_runtimes() {
        const PROGRAM: &[Spec] = &[Spec { key: "port", kind: Kind::Uint { min: 1, max: 65535 }, help: "port" }];
        let p = parse("GOMAXPROCS=2 port=8080", &[SPECS, PROGRAM]).unwrap();
        assert_eq!((p.uint("GOMAXPROCS"), p.uint("port")), (Some(2), Some(8080)));
        assert_eq!(parse("port=8080", &[SPECS]).unwrap_err(), Error::UnknownKey { key: "port" });
        let mut usage = String::new();
        write_usage(&mut usage, &[SPECS, PROGRAM]).unwrap();
        assert!(usage.contains("GOMAXPROCS=") && usage.contains("port=<"), "{usage}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        assert_eq!(parse("GOMAXPROC=4", &[SPECS]).unwrap_err(), Error::UnknownKey { key: "GOMAXPROC" });
        // Keys are case-sensitive, as Go's environment variables are.
        assert_eq!(parse("gomaxprocs=4", &[SPECS]).unwrap_err(), Error::UnknownKey { key: "gomaxprocs" });
    }

    #[test]
    fn malformed_words_are_errors() {
        for bad in ["GOMAXPROCS", "=4", "GOMAXPROCS=", "demo=hello ="] {
            assert!(matches!(parse(bad, &[SPECS]), Err(Error::Malformed { .. })), "{bad}");
        }
    }

    #[test]
    fn values_are_checked() {
        for bad in [
            "GOMAXPROCS=0",
            "GOMAXPROCS=257",
            "GOMAXPROCS=-1",
            "GOMAXPROCS=four",
            "GOMAXPROCS=4x",
            "GOMAXPROCS=0x",
            "demo=Hello",
            "stack=18446744073709551616",
            "stack=16777216g",
        ] {
            assert!(matches!(parse(bad, &[SPECS]), Err(Error::BadValue { .. })), "{bad}");
        }
    }

    #[test]
    fn duplicates_are_errors() {
        assert_eq!(parse("demo=hello demo=sieve", &[SPECS]).unwrap_err(), Error::Duplicate { key: "demo" });
    }

    #[test]
    fn too_many_params() {
        let specs: Vec<Spec> = (0..40)
            .map(|i| Spec { key: Box::leak(format!("k{i}").into_boxed_str()), kind: Kind::Text, help: "" })
            .collect();
        let line: String = (0..40).map(|i| format!("k{i}=v ")).collect();
        assert_eq!(parse(&line, &[&specs]).unwrap_err(), Error::TooMany);
    }

    #[test]
    fn uint_forms() {
        assert_eq!(parse_uint("0"), Some(0));
        assert_eq!(parse_uint("0x10"), Some(16));
        assert_eq!(parse_uint("0XfF"), Some(255));
        assert_eq!(parse_uint("2m"), Some(2 << 20));
        assert_eq!(parse_uint("1G"), Some(1 << 30));
        assert_eq!(parse_uint("k"), None);
        assert_eq!(parse_uint("+5"), None);
        assert_eq!(parse_uint(""), None);
    }

    #[test]
    fn messages_name_the_problem() {
        let e = parse("GOMAXPROCS=0", &[SPECS]).unwrap_err().to_string();
        assert_eq!(e, "bad value \"0\" for boot parameter GOMAXPROCS: want an integer in 1..=256");
        let e = parse("demo=x", &[SPECS]).unwrap_err().to_string();
        assert!(e.ends_with("want one of hello|sieve"), "{e}");
        let mut usage = String::new();
        write_usage(&mut usage, &[SPECS]).unwrap();
        for s in SPECS {
            assert!(usage.contains(s.key));
        }
    }
}
