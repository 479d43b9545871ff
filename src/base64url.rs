//! Unpadded base64url (RFC 4648 §5) of exactly 32 bytes: every code, opaque token and S256
//! PKCE challenge is one. The general-purpose `base64` engine spends most of its time on the
//! tail of such short inputs; a fixed-size encoder is a straight loop.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The encoded length of 32 bytes: 256 bits in 6-bit characters, rounded up.
pub(crate) const ENCODED_LEN: usize = 43;

/// Every 12-bit value as its two characters: two lookups for three bytes instead of four.
/// 8 KiB, built at compile time (where an index out of range fails the build).
#[allow(clippy::indexing_slicing)]
const PAIRS: [[u8; 2]; 4096] = {
    let mut table = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        table[i] = [ALPHABET[i >> 6], ALPHABET[i & 0x3f]];
        i += 1;
    }
    table
};

/// The unpadded base64url text of 32 bytes.
// Every index below is a constant-bounded loop counter into a fixed-size array, or a value
// masked to 12 bits into the 4096-entry table, so the compiler proves each one in range and
// no input can make one fail.
#[allow(clippy::indexing_slicing)]
pub(crate) fn encode_32(bytes: &[u8; 32]) -> [u8; ENCODED_LEN] {
    let mut out = [0u8; ENCODED_LEN];
    let pair = |twelve_bits: u32| PAIRS[(twelve_bits & 0xfff) as usize];
    // Ten groups of three bytes make 40 characters; the last two bytes make three more.
    for i in 0..10 {
        let n = u32::from(bytes[3 * i]) << 16
            | u32::from(bytes[3 * i + 1]) << 8
            | u32::from(bytes[3 * i + 2]);
        let [a, b] = pair(n >> 12);
        let [c, d] = pair(n);
        out[4 * i] = a;
        out[4 * i + 1] = b;
        out[4 * i + 2] = c;
        out[4 * i + 3] = d;
    }
    let n = u32::from(bytes[30]) << 16 | u32::from(bytes[31]) << 8;
    let [a, b] = pair(n >> 12);
    let [c, _] = pair(n);
    out[40] = a;
    out[41] = b;
    out[42] = c;
    out
}

#[cfg(test)]
mod tests {
    use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};

    use super::*;

    #[test]
    fn matches_the_general_purpose_engine() {
        let mut inputs = vec![[0u8; 32], [0xff; 32], [0xfb; 32], [0x3e; 32]];
        let mut ramp = [0u8; 32];
        for (i, b) in ramp.iter_mut().enumerate() {
            *b = (i * 37 + 11) as u8;
        }
        inputs.push(ramp);
        for seed in 0..200u32 {
            let mut x = [0u8; 32];
            for (i, b) in x.iter_mut().enumerate() {
                *b = (seed.wrapping_mul(2_654_435_761).rotate_left(i as u32) >> 7) as u8;
            }
            inputs.push(x);
        }
        for input in inputs {
            let ours = encode_32(&input);
            assert_eq!(
                std::str::from_utf8(&ours).unwrap(),
                BASE64_URL_SAFE_NO_PAD.encode(input)
            );
        }
    }
}
