//! Unpadded base64url (RFC 4648 §5) of exactly 32 bytes: every code, opaque token and S256
//! PKCE challenge is one. The general-purpose `base64` engine spends most of its time on the
//! tail of such short inputs; a fixed-size encoder is a straight loop.

/// The alphabet, aligned so that it is exactly one cache line. Codes and tokens are secrets:
/// with a table spread over several lines (or a bigger one, such as a table of character
/// pairs), which lines an encoding read would tell a process sharing the CPU's caches part
/// of each secret. Within one line, every lookup touches the same line.
#[repr(align(64))]
struct Alphabet([u8; 64]);

const ALPHABET: Alphabet =
    Alphabet(*b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

/// The encoded length of 32 bytes: 256 bits in 6-bit characters, rounded up.
pub(crate) const ENCODED_LEN: usize = 43;

/// The unpadded base64url text of 32 bytes.
// Every index below is a constant-bounded loop counter into a fixed-size array, or a value
// masked to 6 bits into the 64-entry alphabet, so the compiler proves each one in range and
// no input can make one fail.
#[allow(clippy::indexing_slicing)]
pub(crate) fn encode_32(bytes: &[u8; 32]) -> [u8; ENCODED_LEN] {
    let mut out = [0u8; ENCODED_LEN];
    let char_of = |sextet: u32| ALPHABET.0[(sextet & 0x3f) as usize];
    // Ten groups of three bytes make 40 characters; the last two bytes make three more.
    for i in 0..10 {
        let n = u32::from(bytes[3 * i]) << 16
            | u32::from(bytes[3 * i + 1]) << 8
            | u32::from(bytes[3 * i + 2]);
        out[4 * i] = char_of(n >> 18);
        out[4 * i + 1] = char_of(n >> 12);
        out[4 * i + 2] = char_of(n >> 6);
        out[4 * i + 3] = char_of(n);
    }
    let n = u32::from(bytes[30]) << 16 | u32::from(bytes[31]) << 8;
    out[40] = char_of(n >> 18);
    out[41] = char_of(n >> 12);
    out[42] = char_of(n >> 6);
    out
}

#[cfg(test)]
mod tests {
    use base64::prelude::{BASE64_URL_SAFE_NO_PAD, Engine as _};

    use super::*;

    #[test]
    fn the_alphabet_is_one_cache_line() {
        assert_eq!(std::mem::align_of::<Alphabet>(), 64);
        assert_eq!(std::mem::size_of::<Alphabet>(), 64);
    }

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
