//! Unpredictable bytes from the operating system, for anything an attacker must not
//! guess: session ids, CSRF secrets, upload names.

/// Fills `buf` from the operating system's secure random source.
///
/// # Panics
///
/// When the operating system has no random source to offer (nothing secure can be
/// done without one).
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source is unavailable");
}

/// `n` random bytes.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    fill(&mut v);
    v
}

/// `n` random bytes as lowercase hex (`2n` characters).
pub fn hex(n: usize) -> String {
    bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}
