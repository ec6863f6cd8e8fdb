//! Marching squares: where a function sampled at the nodes of a grid crosses 0, found cell
//! by cell, and the pieces joined into lines.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A grid node (i, j): column i, row j.
pub(crate) type Node = (usize, usize);

/// Where the values `a` at one end of an edge and `b` at the other cross 0: the fraction
/// t = a / (a − b) of the way from `a` to `b`; None if both have the same sign or either is
/// not finite.
pub(crate) fn zero_crossing(a: f64, b: f64) -> Option<f64> {
    if (a < 0.0) == (b < 0.0) || !a.is_finite() || !b.is_finite() { None } else { Some(a / (a - b)) }
}

/// The crossings of every cell of an nx × ny grid of nodes, paired into segments:
/// `crossing(a, b)` is the crossing on the edge from node a to node b, if there is one. A
/// cell's edges are taken in order around it (bottom, right, top, left), and its crossings
/// paired in that order.
pub(crate) fn cell_segments<P: Copy>(
    nx: usize,
    ny: usize,
    crossing: impl Fn(Node, Node) -> Option<P>,
) -> Vec<[P; 2]> {
    let mut segments = Vec::new();
    for j in 0..ny.saturating_sub(1) {
        for i in 0..nx.saturating_sub(1) {
            let corners = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
            let hits: Vec<P> = (0..4).filter_map(|e| crossing(corners[e], corners[(e + 1) % 4])).collect();
            for pair in hits.chunks_exact(2) {
                segments.push([pair[0], pair[1]]);
            }
        }
    }
    segments
}

/// Segments that share an end joined into polylines, so that a contour is a few long lines,
/// not thousands of pieces (an end shared by at most two segments, as a crossing lies on one
/// edge shared by at most two cells).
pub(crate) fn polylines<E: Copy + Eq + Hash>(segments: &[[E; 2]]) -> Vec<Vec<E>> {
    let mut at: HashMap<E, Vec<usize>> = HashMap::new();
    for (k, seg) in segments.iter().enumerate() {
        for &e in seg {
            at.entry(e).or_default().push(k);
        }
    }
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    for start in 0..segments.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut chain: VecDeque<E> = segments[start].iter().copied().collect();
        for forward in [true, false] {
            loop {
                let end = if forward { chain[chain.len() - 1] } else { chain[0] };
                let next = at.get(&end).and_then(|ks| ks.iter().copied().find(|&k| !used[k]));
                let Some(k) = next else { break };
                used[k] = true;
                let other = if segments[k][0] == end { segments[k][1] } else { segments[k][0] };
                if forward {
                    chain.push_back(other);
                } else {
                    chain.push_front(other);
                }
            }
        }
        lines.push(chain.into_iter().collect());
    }
    lines
}
