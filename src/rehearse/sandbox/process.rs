//! Finding and stopping exactly the processes a sandbox started, by PID, never by name.

use std::path::Path;
use std::time::{Duration, Instant};

/// The PID in `pid_file` if that process is alive, runs as `user` and its command line
/// contains `needle` (the sandbox's own config path), so a PID reused by an unrelated process
/// is never ours. The pid file lies in the host's directory, which `user` owns: a PID it
/// wrote there of another user's process that happens to mention the path (an editor open
/// on it) was stopped, while the server went on running.
pub fn live_pid(pid_file: &Path, needle: &str, user: &str) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (is_ours(pid, needle) && runs_as(pid, user)).then_some(pid)
}

/// Whether process `pid`'s real uid is `user`'s.
fn runs_as(pid: i32, user: &str) -> bool {
    let uid = std::process::Command::new("id")
        .args(["-u", "--", user])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u32>()
                .ok()
        });
    let real = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next()?.parse::<u32>().ok())
        });
    uid.is_some() && uid == real
}

pub fn is_ours(pid: i32, needle: &str) -> bool {
    is_running(pid) && command_line(pid).is_some_and(|cmd| cmd.contains(needle))
}

/// Alive and not a zombie: a process started with `setsid` can stay a zombie for seconds before
/// PID 1 reaps it, and `kill -0` still succeeds on it.
pub fn is_running(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name in parentheses may itself hold spaces or ')': the state follows the last ')'.
    let state = stat
        .rfind(')')
        .and_then(|end| stat.get(end + 1..))
        .and_then(|rest| rest.split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

pub fn command_line(pid: i32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .map(String::from_utf8_lossy)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// SIGTERM, then SIGKILL after `grace`; true once the process is gone.
pub fn stop(pid: i32, needle: &str, grace: Duration) -> bool {
    if !is_ours(pid, needle) {
        return true;
    }
    signal(pid, libc::SIGTERM);
    if wait_gone(pid, grace) {
        return true;
    }
    signal(pid, libc::SIGKILL);
    wait_gone(pid, Duration::from_secs(5))
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a stale PID only yields ESRCH.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while is_running(pid) {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// PIDs of every live process whose command line mentions `needle`: how `down` proves it left
/// nothing of the sandbox behind.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me && is_ours(*pid, needle))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid file naming a live process that mentions the needle but runs as another user is
    /// not the host's server. This test's own process stands for both.
    #[test]
    fn a_process_of_another_user_is_never_the_servers() {
        let dir = crate::io::scratch_dir("pid-owner");
        let pid_file = dir.join("zk.pid");
        std::fs::write(&pid_file, std::process::id().to_string()).unwrap();
        let me = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let me = String::from_utf8_lossy(&me.stdout).trim().to_string();
        let pid = i32::try_from(std::process::id()).unwrap();
        assert_eq!(live_pid(&pid_file, "zkpilot", &me), Some(pid));
        assert_eq!(live_pid(&pid_file, "zkpilot", "nobody"), None);
        assert_eq!(live_pid(&pid_file, "zkpilot", "no-such-user-here"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sees_itself_and_not_a_missing_pid() {
        let me = std::process::id() as i32;
        assert!(is_running(me));
        assert!(command_line(me).is_some());
        assert!(!is_running(i32::MAX));
        assert!(!is_ours(me, "no-such-needle-in-any-command-line"));
    }

    #[test]
    fn stops_a_child_it_is_told_about() {
        let mut child = std::process::Command::new("sleep")
            .arg("300")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Until exec is done the child still shows the test's own command line.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !is_ours(pid, "sleep 300") {
            assert!(
                Instant::now() < deadline,
                "the child never became `sleep 300`"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let reaper = std::thread::spawn(move || child.wait());
        assert!(stop(pid, "sleep 300", Duration::from_secs(5)));
        reaper.join().unwrap().unwrap();
        assert!(!is_running(pid));
    }
}
