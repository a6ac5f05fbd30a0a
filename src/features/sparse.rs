//! Sparse row vectors and a compressed-sparse-row (CSR) matrix: the shape of
//! TF-IDF features, where a document touches only the terms it contains.

use serde::{Deserialize, Serialize};

/// One sparse row: strictly increasing column indices with their values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SparseVec {
    /// Column indices, strictly increasing.
    pub indices: Vec<u32>,
    /// Values, one per index.
    pub values: Vec<f64>,
}

impl SparseVec {
    /// Borrowed view of this row.
    pub fn view(&self) -> SparseRow<'_> {
        SparseRow {
            indices: &self.indices,
            values: &self.values,
        }
    }

    /// Number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
}

/// Borrowed sparse row, as handed out by [`CsrMatrix::row`].
#[derive(Debug, Clone, Copy)]
pub struct SparseRow<'a> {
    /// Column indices, strictly increasing.
    pub indices: &'a [u32],
    /// Values, one per index.
    pub values: &'a [f64],
}

impl<'a> SparseRow<'a> {
    /// `(column, value)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + 'a {
        let (indices, values) = (self.indices, self.values);
        indices.iter().zip(values).map(|(&i, &v)| (i as usize, v))
    }

    /// Dot product with a dense vector; columns past its end count as zero.
    pub fn dot(&self, dense: &[f64]) -> f64 {
        self.iter()
            .map(|(i, v)| dense.get(i).map_or(0.0, |w| w * v))
            .sum()
    }
}

/// Row-major sparse matrix (CSR). Built only through [`CsrMatrix::push_row`],
/// so its index arrays are always consistent.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    n_cols: usize,
}

impl CsrMatrix {
    /// An empty matrix with `n_cols` columns and no rows.
    pub fn new(n_cols: usize) -> Self {
        Self {
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
            n_cols,
        }
    }

    /// Builds a matrix from rows; every index must be below `n_cols`.
    pub fn from_rows<'a>(n_cols: usize, rows: impl IntoIterator<Item = &'a SparseVec>) -> Self {
        let mut m = Self::new(n_cols);
        for r in rows {
            m.push_row(r.view());
        }
        m
    }

    /// Appends a row. Indices at or past `n_cols` are dropped, so a row can
    /// never address a column the matrix does not have.
    pub fn push_row(&mut self, row: SparseRow<'_>) {
        for (i, v) in row.iter() {
            if i < self.n_cols {
                self.indices.push(i as u32);
                self.values.push(v);
            }
        }
        self.indptr.push(self.indices.len());
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Row `i`, or `None` past the last row.
    pub fn get_row(&self, i: usize) -> Option<SparseRow<'_>> {
        let start = *self.indptr.get(i)?;
        let end = *self.indptr.get(i + 1)?;
        Some(SparseRow {
            indices: &self.indices[start..end],
            values: &self.values[start..end],
        })
    }

    /// Row `i`. Panics past the last row: callers iterate `0..n_rows()`.
    pub fn row(&self, i: usize) -> SparseRow<'_> {
        let (start, end) = (self.indptr[i], self.indptr[i + 1]);
        SparseRow {
            indices: &self.indices[start..end],
            values: &self.values[start..end],
        }
    }

    /// Iterator over all rows in order.
    pub fn rows(&self) -> impl Iterator<Item = SparseRow<'_>> {
        (0..self.n_rows()).map(move |i| self.row(i))
    }

    /// A new matrix holding the given rows, in the given order.
    pub fn select_rows(&self, rows: &[usize]) -> Self {
        let mut m = Self::new(self.n_cols);
        for &r in rows {
            m.push_row(self.row(r));
        }
        m
    }

    /// Dense copy, row-major `n_rows x n_cols`; for tests and oracles on small data.
    pub fn to_dense(&self) -> Vec<Vec<f64>> {
        self.rows()
            .map(|r| {
                let mut d = vec![0.0; self.n_cols];
                for (i, v) in r.iter() {
                    d[i] = v;
                }
                d
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_csr() {
        let a = SparseVec {
            indices: vec![0, 3],
            values: vec![1.0, 2.0],
        };
        let b = SparseVec::default();
        let m = CsrMatrix::from_rows(4, [&a, &b, &a]);
        assert_eq!(m.n_rows(), 3);
        assert_eq!(m.nnz(), 4);
        assert_eq!(m.row(1).indices.len(), 0);
        assert_eq!(m.to_dense()[2], vec![1.0, 0.0, 0.0, 2.0]);
        assert!(m.get_row(3).is_none());
    }

    #[test]
    fn push_row_drops_out_of_range_columns() {
        let a = SparseVec {
            indices: vec![1, 9],
            values: vec![1.0, 5.0],
        };
        let m = CsrMatrix::from_rows(2, [&a]);
        assert_eq!(m.to_dense(), vec![vec![0.0, 1.0]]);
    }

    #[test]
    fn dot_ignores_columns_past_dense_end() {
        let a = SparseVec {
            indices: vec![0, 5],
            values: vec![2.0, 7.0],
        };
        assert_eq!(a.view().dot(&[3.0, 1.0]), 6.0);
    }
}
