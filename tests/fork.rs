//! A forked child must never hand out the random values its parent holds: both would issue
//! the same codes and tokens. Every value is drawn from the OS generator when it is needed, so
//! there is no state for a child to share; this checks that it stays so.
#![cfg(unix)]

use std::io::Read as _;
use std::os::fd::FromRawFd as _;

use portcullis::store::GrantId;

#[test]
fn a_forked_child_draws_values_its_parent_never_sees() {
    // Draw once before forking: a generator that kept state (a pool, a seeded user-space
    // generator) would now hold bytes that parent and child both hand out next.
    let _ = GrantId::generate().unwrap();

    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe` writes.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::pipe(fds.as_mut_ptr()) };
    assert_eq!(rc, 0, "pipe");
    let [read_fd, write_fd] = fds;

    // SAFETY: the child only draws a value, writes it to the pipe and exits with `_exit`,
    // never returning into the test harness.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let value = GrantId::generate().map(|g| g.as_str().to_owned());
        let bytes = value.as_deref().unwrap_or("").as_bytes();
        // SAFETY: writes `bytes` to the pipe's write end; `_exit` skips the parent's
        // destructors and atexit handlers, as a forked child should.
        #[allow(unsafe_code)]
        unsafe {
            libc::write(write_fd, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0);
        }
    }

    let parent_value = GrantId::generate().unwrap();
    // SAFETY: closes our copy of the write end, so the read below ends when the child exits.
    #[allow(unsafe_code)]
    unsafe {
        libc::close(write_fd);
    }
    // SAFETY: `read_fd` is an open descriptor this test owns from here on.
    #[allow(unsafe_code)]
    let mut reader = unsafe { std::fs::File::from_raw_fd(read_fd) };
    let mut child_value = String::new();
    reader.read_to_string(&mut child_value).unwrap();
    let mut status = 0;
    // SAFETY: waits for the child this test forked.
    #[allow(unsafe_code)]
    unsafe {
        libc::waitpid(pid, &mut status, 0);
    }

    assert_eq!(child_value.len(), 43, "the child drew a value");
    assert_ne!(child_value, parent_value.as_str());
}
