//! `top` on the embedded engine: the host's `ps -ef` limited to the container's pids, the
//! way dockerd answers it.

use crate::engine::{EngineError, EngineResult, ProcessList};

/// Runs `ps -ef` and keeps the rows whose PID is one of `pids`.
pub fn ps_ef(pids: &[i32]) -> EngineResult<ProcessList> {
    let out = std::process::Command::new("ps")
        .arg("-ef")
        .output()
        .map_err(|e| EngineError::Backend {
            message: format!("cannot run ps: {e}"),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text, pids)
}

fn parse(text: &str, pids: &[i32]) -> EngineResult<ProcessList> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let titles: Vec<String> = header.split_whitespace().map(str::to_string).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::Backend {
            message: "ps printed no PID column".into(),
        })?;
    let n = titles.len();
    let mut processes = Vec::new();
    for line in lines {
        // The last column (CMD) may hold spaces: split the first n-1 fields only.
        let mut fields: Vec<String> = Vec::with_capacity(n);
        let mut rest = line.trim_start();
        for _ in 0..n - 1 {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
        fields.push(rest.to_string());
        if fields[pid_col]
            .parse::<i32>()
            .is_ok_and(|p| pids.contains(&p))
        {
            processes.push(fields);
        }
    }
    Ok(ProcessList { titles, processes })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rows_of_the_container_only() {
        let text = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                    root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                    root        4242       1  0 10:01 ?        00:00:00 sleep 1000 now\n";
        let l = super::parse(text, &[4242]).unwrap();
        assert_eq!(l.titles.len(), 8);
        assert_eq!(
            l.processes,
            vec![vec![
                "root",
                "4242",
                "1",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 1000 now"
            ]]
        );
    }
}
