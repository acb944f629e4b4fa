//! Prometheus text exposition (format 0.0.4) of corral's metrics, as ZooKeeper 3.8's
//! `PrometheusMetricsProvider` prints them with its Java client (simpleclient 0.9): every
//! family with `# HELP <name> <name>` and `# TYPE`, summaries with their quantiles (`0.5`;
//! advanced ones also `0.9` and `0.99`; `NaN` before the first observation), `_count` and
//! `_sum`, summary sets under a `key` label, numbers as Java prints doubles. Then the
//! `process_*` metrics of the Java client's standard exports, from /proc.

use std::fmt::Write;

use crate::metrics::{java_double, Detail, Metric, Summary};

/// The text format's content type, as Prometheus clients send it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn render(metrics: &[Metric]) -> String {
    let mut out = String::new();
    for m in metrics {
        match m {
            Metric::Gauge(name, v) => family(&mut out, name, name, "gauge", &[("", v.as_f64())]),
            Metric::Counter { name, total, .. } => {
                family(&mut out, name, name, "counter", &[("", *total as f64)])
            }
            Metric::Summary(name, detail, s) => {
                head(&mut out, name, name, "summary");
                summary(&mut out, name, "", *detail, s);
            }
            Metric::SummarySet(name, detail, members) => {
                head(&mut out, name, name, "summary");
                for (key, s) in members {
                    summary(
                        &mut out,
                        name,
                        &format!("key=\"{}\",", escape(key)),
                        *detail,
                        s,
                    );
                }
            }
            Metric::LabelledSet {
                name,
                kind,
                members,
            } => {
                head(&mut out, name, name, kind);
                for (key, n) in members {
                    let _ = writeln!(out, "{name}{{key=\"{}\",}} {n}.0", escape(key));
                }
            }
        }
    }
    process(&mut out);
    out
}

fn head(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A family of unlabelled samples: (suffix, value).
fn family(out: &mut String, name: &str, help: &str, kind: &str, samples: &[(&str, f64)]) {
    head(out, name, help, kind);
    for (suffix, v) in samples {
        let _ = writeln!(out, "{name}{suffix} {}", java_double(*v));
    }
}

fn summary(out: &mut String, name: &str, labels: &str, detail: Detail, s: &Summary) {
    let quantiles: &[f64] = match detail {
        Detail::Basic => &[0.5],
        Detail::Advanced => &[0.5, 0.9, 0.99],
    };
    for q in quantiles {
        let v = if s.is_empty() {
            f64::NAN
        } else {
            s.quantile(*q) as f64
        };
        let _ = writeln!(
            out,
            "{name}{{{labels}quantile=\"{q}\",}} {}",
            java_double(v)
        );
    }
    let labels = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(
        out,
        "{name}_count{labels} {}",
        java_double(s.count_total as f64)
    );
    let _ = writeln!(
        out,
        "{name}_sum{labels} {}",
        java_double(s.sum_total as f64)
    );
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The Java client's `process_*` metrics, with its help texts.
fn process(out: &mut String) {
    let p = crate::metrics::process::Process::read();
    let rows: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            "counter",
            p.cpu_seconds,
        ),
        (
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            "gauge",
            p.start_time_seconds,
        ),
        (
            "process_open_fds",
            "Number of open file descriptors.",
            "gauge",
            Some(p.open_fds as f64),
        ),
        (
            "process_max_fds",
            "Maximum number of open file descriptors.",
            "gauge",
            Some(p.max_fds as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            "gauge",
            p.virtual_memory_bytes,
        ),
        (
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            "gauge",
            p.resident_memory_bytes,
        ),
    ];
    for (name, help, kind, value) in rows {
        if let Some(v) = value {
            family(out, name, help, kind, &[("", v)]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Num;

    #[test]
    fn renders_as_the_java_client() {
        let mut s = Summary::default();
        s.observe(4);
        let text = render(&[
            Metric::Gauge("znode_count", Num::Int(5)),
            Metric::Counter {
                name: "connection_rejected",
                total: 2,
                since_reset: 0,
            },
            Metric::Summary("readlatency", Detail::Advanced, s.clone()),
            Metric::Summary("fsynctime", Detail::Basic, Summary::default()),
            Metric::SummarySet("ack_latency", Detail::Basic, vec![("2".into(), s)]),
        ]);
        let expected = "\
# HELP znode_count znode_count\n# TYPE znode_count gauge\nznode_count 5.0\n\
# HELP connection_rejected connection_rejected\n# TYPE connection_rejected counter\n\
connection_rejected 2.0\n\
# HELP readlatency readlatency\n# TYPE readlatency summary\n\
readlatency{quantile=\"0.5\",} 4.0\nreadlatency{quantile=\"0.9\",} 4.0\n\
readlatency{quantile=\"0.99\",} 4.0\nreadlatency_count 1.0\nreadlatency_sum 4.0\n\
# HELP fsynctime fsynctime\n# TYPE fsynctime summary\nfsynctime{quantile=\"0.5\",} NaN\n\
fsynctime_count 0.0\nfsynctime_sum 0.0\n\
# HELP ack_latency ack_latency\n# TYPE ack_latency summary\n\
ack_latency{key=\"2\",quantile=\"0.5\",} 4.0\nack_latency_count{key=\"2\",} 1.0\n\
ack_latency_sum{key=\"2\",} 4.0\n";
        assert!(text.starts_with(expected), "{text}");
        assert!(text.contains("# TYPE process_open_fds gauge\n"));
    }
}
