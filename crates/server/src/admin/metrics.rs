//! Prometheus text exposition of the numbers `mntr` reports, under ZooKeeper's metric names
//! (the `mntr` key without `zk_`), all as gauges.

/// The text format's content type, as Prometheus clients send it.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `mntr` rows that are not numbers (version, server state) have no metric.
pub fn render(rows: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    for (key, value) in rows {
        let name = key.trim_start_matches("zk_");
        if value.parse::<f64>().is_err() {
            continue;
        }
        out.push_str(&format!("# TYPE {name} gauge\n{name} {value}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_become_gauges_and_text_is_left_out() {
        let rows = [
            ("zk_version", "3.8.0-corral".to_string()),
            ("zk_znode_count", "5".to_string()),
            ("zk_avg_latency", "0.5000".to_string()),
        ];
        assert_eq!(
            render(&rows),
            "# TYPE znode_count gauge\nznode_count 5\n\
             # TYPE avg_latency gauge\navg_latency 0.5000\n"
        );
    }
}
