//! The process' own figures (CPU time, memory, file descriptors, start time), from /proc, for
//! `mntr` and the Prometheus `process_*` metrics. Missing on a system without /proc.

pub struct Process {
    pub cpu_seconds: Option<f64>,
    pub start_time_seconds: Option<f64>,
    pub virtual_memory_bytes: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub open_fds: u64,
    pub max_fds: u64,
}

impl Process {
    pub fn read() -> Process {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces:
        // state is field 3 of proc(5), so index i here is field i + 3.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let ticks = rustix::param::clock_ticks_per_second() as f64;
        let page = rustix::param::page_size() as f64;
        let boot_time = std::fs::read_to_string("/proc/stat")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("btime ")?.trim().parse::<f64>().ok());
        Process {
            cpu_seconds: field(14).zip(field(15)).map(|(u, s)| (u + s) / ticks),
            start_time_seconds: boot_time.zip(field(22)).map(|(b, t)| b + t / ticks),
            virtual_memory_bytes: field(23),
            resident_memory_bytes: field(24).map(|pages| pages * page),
            open_fds: open_fds(),
            max_fds: max_fds(),
        }
    }
}

pub fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

pub fn max_fds() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let p = super::Process::read();
        assert!(p.open_fds > 0 && p.max_fds >= p.open_fds);
        assert!(p.resident_memory_bytes.unwrap() > 0.0);
        assert!(p.start_time_seconds.unwrap() > 1.0e9);
        assert!(p.cpu_seconds.unwrap() >= 0.0);
    }
}
