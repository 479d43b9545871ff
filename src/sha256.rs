//! SHA-256 of the short values the server hashes on every request: codes, tokens and PKCE
//! verifiers. A value of up to 55 bytes fits one padded block, which goes straight to the
//! `sha2` crate's compression function; the general-purpose hasher's buffering costs about as
//! much as the compression itself for inputs this short. Longer values take the general path.

use sha2::{Digest, Sha256};

/// The initial hash value of SHA-256 (FIPS 180-4 §5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The longest message that fits one block with its padding: 64 bytes less the `0x80` byte
/// and the 8-byte length.
const ONE_BLOCK: usize = 55;

/// The SHA-256 digest of `data`.
pub(crate) fn digest(data: &[u8]) -> [u8; 32] {
    if data.len() > ONE_BLOCK {
        return Sha256::digest(data).into();
    }
    // FIPS 180-4 §5.1.1: the message, a 1 bit, zeros, and the length in bits, big-endian.
    let mut block = [0u8; 64];
    let (message, rest) = block.split_at_mut(data.len());
    message.copy_from_slice(data);
    if let Some(first) = rest.first_mut() {
        *first = 0x80;
    }
    let bits = (data.len() as u64) * 8;
    if let Some(length) = block.last_chunk_mut::<8>() {
        *length = bits.to_be_bytes();
    }
    let mut state = INITIAL;
    sha2::block_api::compress256(&mut state, &[block]);
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_general_hasher_at_every_length_around_one_block() {
        for len in 0..=130usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
            let expected: [u8; 32] = Sha256::digest(&data).into();
            assert_eq!(digest(&data), expected, "length {len}");
        }
    }

    #[test]
    fn fips_180_2_appendix_b_1() {
        let abc = digest(b"abc");
        let hex: String = abc.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
