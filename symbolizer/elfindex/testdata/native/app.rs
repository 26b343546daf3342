// Rust: generics, traits and trait objects, closures and iterator chains
// (inlined heavily in release builds), Result and a panic path.
use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    x: f64,
    y: f64,
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String;
}

struct Circle {
    r: f64,
}

struct Polygon {
    pts: Vec<Point>,
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        std::f64::consts::PI * self.r * self.r
    }
    fn name(&self) -> String {
        format!("circle({})", self.r)
    }
}

impl Shape for Polygon {
    fn area(&self) -> f64 {
        let n = self.pts.len();
        let s: f64 = (0..n)
            .map(|i| {
                let (a, b) = (self.pts[i], self.pts[(i + 1) % n]);
                a.x * b.y - a.y * b.x
            })
            .sum();
        s.abs() / 2.0
    }
    fn name(&self) -> String {
        format!("polygon with {} points", self.pts.len())
    }
}

struct Stats<T> {
    items: Vec<T>,
}

impl<T: Copy + PartialOrd + Into<f64>> Stats<T> {
    fn new(items: Vec<T>) -> Self {
        Stats { items }
    }

    fn mean(&self) -> Option<f64> {
        if self.items.is_empty() {
            return None;
        }
        let sum: f64 = self.items.iter().map(|&v| v.into()).sum();
        Some(sum / self.items.len() as f64)
    }

    fn max(&self) -> Option<T> {
        self.items
            .iter()
            .copied()
            .fold(None, |m, v| match m {
                None => Some(v),
                Some(m) if v > m => Some(v),
                m => m,
            })
    }
}

#[derive(Debug)]
enum ParseError {
    Empty,
    Bad(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ParseError::Empty => write!(f, "empty input"),
            ParseError::Bad(s) => write!(f, "bad number {:?}", s),
        }
    }
}

fn parse_all(input: &str) -> Result<Vec<i32>, ParseError> {
    if input.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    input
        .split(',')
        .map(|s| s.trim().parse::<i32>().map_err(|_| ParseError::Bad(s.to_string())))
        .collect()
}

fn word_counts(text: &str) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for w in text.split_whitespace() {
        *m.entry(w).or_insert(0) += 1;
    }
    m
}

#[inline(never)]
fn checked_div(a: i32, b: i32) -> i32 {
    if b == 0 {
        panic!("division of {} by zero", a);
    }
    a / b
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let shapes: Vec<Box<dyn Shape>> = vec![
        Box::new(Circle { r: args.len() as f64 }),
        Box::new(Polygon {
            pts: vec![Point { x: 0.0, y: 0.0 }, Point { x: 4.0, y: 0.0 }, Point { x: 4.0, y: 3.0 }],
        }),
    ];
    let total: f64 = shapes.iter().map(|s| s.area()).sum();
    for s in &shapes {
        println!("{}: {:.2}", s.name(), s.area());
    }
    let nums = parse_all(args.get(1).map(String::as_str).unwrap_or("1, 2, 3")).unwrap_or_else(|e| {
        eprintln!("{}", e);
        vec![7]
    });
    let st = Stats::new(nums.clone());
    let counts = word_counts("a b a c b a");
    println!(
        "{:.2} {:?} {:?} {} {}",
        total,
        st.mean(),
        st.max(),
        counts.len(),
        checked_div(nums[0], args.len() as i32)
    );
}
