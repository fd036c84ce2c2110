//! Bare `zxcvbn::zxcvbn` over stdin, one password per line, one result per
//! line: the baseline `bench/peers.sh` times `pwsentry check --batch`
//! against (same lines, same process start-up and I/O, no policy).
//!
//! ```text
//! cargo build --release --example bare_zxcvbn
//! target/release/examples/bare_zxcvbn < benches/fixtures/passwords-10000.txt > /dev/null
//! ```

use std::io::{BufRead, BufWriter, Write};

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line?;
        let e = zxcvbn::zxcvbn(&line, &[]);
        writeln!(
            out,
            "{{\"score\":{},\"guesses_log10\":{}}}",
            e.score() as u8,
            e.guesses_log10()
        )?;
    }
    out.flush()
}
