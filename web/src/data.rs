//! Graph data as CSV and JSON (ganglia-web's `csv`/`json` graph outputs): the series a graph
//! reads, fetched from the RRD files.

use crate::graph::Fetched;
use serde_json::{Value, json};

/// CSV: a `Timestamp` column (epoch seconds) and one column per series; unknown values empty.
/// Labels are quoted with doubled quotes, and a leading `=+-@` is neutralised (CSV injection).
pub fn csv(data: &[Fetched]) -> String {
    let mut out = String::from("Timestamp");
    for f in data {
        out.push(',');
        out.push_str(&csv_field(&format!("{} ({})", f.series.label, f.series.ds)));
    }
    out.push('\n');
    let rows = data.iter().map(|f| f.rows.len()).max().unwrap_or(0);
    for i in 0..rows {
        let t = data
            .iter()
            .find_map(|f| f.rows.get(i).map(|r| r.0))
            .unwrap_or(0);
        out.push_str(&t.to_string());
        for f in data {
            out.push(',');
            if let Some((_, v)) = f.rows.get(i).filter(|r| r.1.is_finite()) {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    let mut s = s.replace('"', "\"\"");
    if s.starts_with(['=', '+', '-', '@']) {
        s.insert(0, '\'');
    }
    format!("\"{s}\"")
}

/// JSON: an array of `{ds_name, metric_name, ds, datapoints: [[value|null, ts], ...]}`, the
/// shape ganglia-web's `graph.php?json=1` returns, plus the cluster/host names.
pub fn json(data: &[Fetched], cluster: Option<&str>, host: Option<&str>) -> String {
    let v: Vec<Value> = data
        .iter()
        .map(|f| {
            let points: Vec<Value> = f
                .rows
                .iter()
                .map(|(t, v)| json!([if v.is_finite() { json!(v) } else { Value::Null }, t]))
                .collect();
            json!({
                "ds_name": f.series.label,
                "metric_name": f.series.metric,
                "ds": f.series.ds,
                "cluster_name": cluster,
                "host_name": host,
                "datapoints": points,
            })
        })
        .collect();
    Value::Array(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Series;

    #[test]
    fn csv_and_json_shapes() {
        let f = Fetched {
            series: Series {
                label: "=cmd\"x".into(),
                file: "/x.rrd".into(),
                ds: "sum",
                metric: "<m>".into(),
            },
            rows: vec![(10, 1.5), (25, f64::NAN)],
        };
        assert_eq!(
            csv(std::slice::from_ref(&f)),
            "Timestamp,\"'=cmd\"\"x (sum)\"\n10,1.5\n25,\n"
        );
        let j: Value = serde_json::from_str(&json(&[f], Some("c"), None)).unwrap();
        assert_eq!(j[0]["datapoints"], json!([[1.5, 10], [null, 25]]));
        assert_eq!(j[0]["metric_name"], "<m>");
    }
}
