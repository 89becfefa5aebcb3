//! A small hand-written SVG: latency p50/p95/p99 against concurrency, with
//! each level's QPS under its tick.

use std::fmt::Write as _;

use crate::mix::LevelStats;

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = WIDTH - 150.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = HEIGHT - 80.0;
/// Space between the plot's border and the first and last level.
const PAD: f64 = 30.0;

/// A plotted percentile: name, colour, value.
type Series = (&'static str, &'static str, fn(&LevelStats) -> f64);

/// The plotted percentiles.
const SERIES: [Series; 3] = [
    ("p50", "#1f77b4", |l| l.p50_ms),
    ("p95", "#ff7f0e", |l| l.p95_ms),
    ("p99", "#d62728", |l| l.p99_ms),
];

/// Escape text for XML content and attributes.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A 1-2-5 step near `raw` (> 0).
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10_f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label with as many decimals as the step needs.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10()).ceil() as usize
    };
    format!("{value:.decimals$}")
}

/// The plot for these levels (levels without successful queries are left out of the lines).
pub(crate) fn latency_svg(title: &str, subtitle: &str, levels: &[LevelStats]) -> String {
    let measured: Vec<&LevelStats> = levels.iter().filter(|l| l.queries > 0).collect();
    let top_value = measured
        .iter()
        .map(|l| l.p99_ms.max(l.p95_ms).max(l.p50_ms))
        .fold(0.0_f64, f64::max);
    let step = nice_step(if top_value > 0.0 {
        top_value / 5.0
    } else {
        0.2
    });
    let y_max = ((top_value / step).ceil() * step).max(step);
    let y = |v: f64| BOTTOM - (v / y_max) * (BOTTOM - TOP);
    let n = levels.len();
    let x = |i: usize| {
        if n <= 1 {
            (LEFT + RIGHT) / 2.0
        } else {
            LEFT + PAD + i as f64 * (RIGHT - LEFT - 2.0 * PAD) / (n - 1) as f64
        }
    };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        s,
        r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="28" font-size="16" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{LEFT}" y="48" fill="#555">{}</text>"##,
        esc(subtitle)
    );

    // Horizontal grid and y ticks.
    let mut v = 0.0;
    while v <= y_max + step / 2.0 {
        let yy = y(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{RIGHT}" y2="{yy:.1}" stroke="#e5e5e5"/>"##
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 8.0,
            yy + 4.0,
            tick_label(v, step)
        );
        v += step;
    }
    // Axes.
    let _ = writeln!(
        s,
        r##"<path d="M{LEFT},{TOP} V{BOTTOM} H{RIGHT}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        s,
        r#"<text transform="translate(22,{:.1}) rotate(-90)" text-anchor="middle">latency (ms)</text>"#,
        (TOP + BOTTOM) / 2.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">concurrency (concurrent query tasks)</text>"#,
        (LEFT + RIGHT) / 2.0,
        HEIGHT - 18.0
    );
    // X ticks: the level and its throughput.
    for (i, level) in levels.iter().enumerate() {
        let xx = x(i);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{BOTTOM}" x2="{xx:.1}" y2="{:.1}" stroke="#333"/>"##,
            BOTTOM + 5.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{xx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            BOTTOM + 19.0,
            level.concurrency
        );
        let _ = writeln!(
            s,
            r##"<text x="{xx:.1}" y="{:.1}" text-anchor="middle" fill="#777" font-size="10">{:.0} qps</text>"##,
            BOTTOM + 33.0,
            level.qps
        );
    }
    // One line per percentile, with a dot and a tooltip per level.
    for (name, colour, value) in SERIES {
        let points: Vec<(f64, f64, &LevelStats)> = levels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.queries > 0)
            .map(|(i, l)| (x(i), y(value(l)), l))
            .collect();
        let path: Vec<String> = points
            .iter()
            .map(|(px, py, _)| format!("{px:.1},{py:.1}"))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            path.join(" ")
        );
        for (px, py, l) in &points {
            let _ = writeln!(
                s,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="3.5" fill="{colour}"><title>{name} at concurrency {}: {:.3} ms</title></circle>"#,
                l.concurrency,
                value(l)
            );
        }
    }
    // Legend.
    for (row, (name, colour, _)) in SERIES.iter().enumerate() {
        let ly = TOP + 10.0 + row as f64 * 20.0;
        let _ = writeln!(
            s,
            r#"<line x1="{:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/>"#,
            RIGHT + 20.0,
            RIGHT + 44.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{name} latency</text>"#,
            RIGHT + 50.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(concurrency: usize, p50: f64, queries: u64) -> LevelStats {
        LevelStats {
            concurrency,
            queries,
            errors: 0,
            first_error: None,
            seconds: 1.0,
            qps: queries as f64,
            mean_ms: p50,
            p50_ms: p50,
            p95_ms: p50 * 2.0,
            p99_ms: p50 * 3.0,
            max_ms: p50 * 4.0,
            recall_at_k: 1.0,
            client_cpu_seconds: None,
            client_cpu_ms_per_query: None,
        }
    }

    #[test]
    fn steps_are_1_2_5() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(42.0), 50.0);
        assert!((nice_step(0.013) - 0.02).abs() < 1e-12);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(tick_label(40.0, 10.0), "40");
    }

    #[test]
    fn plot_has_a_line_per_percentile_and_a_tick_per_level() {
        let levels = [level(1, 1.0, 900), level(2, 1.5, 1500), level(4, 0.0, 0)];
        let svg = latency_svg("pgvector <hnsw> & co", "dim 128", &levels);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        // Two measured levels, three percentiles: six dots.
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains(">900 qps<") && svg.contains(">0 qps<"));
        assert!(svg.contains("pgvector &lt;hnsw&gt; &amp; co"));
        assert!(svg.contains("p99 at concurrency 2: 4.500 ms"));
        // Every element opened is closed.
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        assert_eq!(svg.matches("<svg").count(), 1);
    }

    #[test]
    fn a_single_level_is_centred() {
        let svg = latency_svg("t", "s", &[level(8, 2.0, 10)]);
        let centre = format!("cx=\"{:.1}\"", (LEFT + RIGHT) / 2.0);
        assert!(svg.contains(&centre), "{svg}");
    }
}
