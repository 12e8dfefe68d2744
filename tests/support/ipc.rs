//! SysV IPC on the host.

/// A SysV shared memory segment created on the host; removed on drop.
pub struct ShmSegment {
    pub shmid: i32,
}

impl ShmSegment {
    pub fn new() -> ShmSegment {
        // SAFETY: shmget has no memory-safety preconditions.
        let shmid = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        assert!(
            shmid >= 0,
            "shmget on the host failed: {}",
            std::io::Error::last_os_error()
        );
        ShmSegment { shmid }
    }
}

impl Drop for ShmSegment {
    fn drop(&mut self) {
        // SAFETY: IPC_RMID ignores the buffer argument.
        unsafe {
            libc::shmctl(self.shmid, libc::IPC_RMID, std::ptr::null_mut());
        }
    }
}

/// The shmids listed in a /proc/sysvipc/shm text (header line skipped).
pub fn shmids(sysvipc_shm: &str) -> Vec<i32> {
    sysvipc_shm
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}
