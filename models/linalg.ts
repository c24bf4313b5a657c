/**
 * Dense float64 linear algebra on the CPU, for the data-sized matrices of classical models
 * (covariances D × D with D ≤ a few thousand, latent q × q blocks). Everything that scales with
 * the number of examples runs on the GPU; what is left here is O(D³) once per fit.
 *
 * Matrices are row-major Float64Arrays with their sizes passed alongside. Algorithms:
 *
 * - `symEig`: Householder reduction to tridiagonal form, then implicit QL sweeps with a Wilkinson
 *   shift on the tridiagonal matrix (Golub & Van Loan, Matrix Computations, §8.3; the QL variant
 *   of Bowdler, Martin, Reinsch & Wilkinson 1968). About 9n³ flops with vectors; a 784 × 784
 *   covariance takes 1–2 s in Node.
 * - `cholesky`, `logDetSPD`, triangular and SPD solves, `inverseSPD`.
 *
 * @example
 * const { values, vectors } = symEig(S, D);  // S = V diag(values) Vᵀ, values descending
 * const L = cholesky(M, q);                  // M = L Lᵀ
 */

/** A matrix that the algorithm cannot handle: not square, not symmetric positive definite, no convergence. */
export class LinAlgError extends Error {
  override name = "LinAlgError";
}

const EPS = 2 ** -52;

function checkSize(what: string, a: ArrayLike<number>, rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || a.length !== rows * cols) {
    throw new LinAlgError(`${what}: expected ${rows} × ${cols} = ${rows * cols} values, got ${a.length}`);
  }
}

/** Eigen-decomposition of a symmetric matrix. */
export interface SymEig {
  /** Eigenvalues, in descending order. */
  values: Float64Array;
  /** n × n, row-major; column j is the unit eigenvector of values[j] (A = V Λ Vᵀ). */
  vectors: Float64Array;
}

/**
 * Householder tridiagonalisation A = Q T Qᵀ. Returns the diagonal d, the off-diagonal e
 * (e[i] = T[i, i+1], e[n−1] = 0) and Qᵀ (row-major, so that the QL sweeps below rotate
 * contiguous rows).
 *
 * Step k reflects x = A[k+1:, k] onto a multiple of e₁ with H = I − β v vᵀ, v = x − α e₁,
 * α = −sign(x₀)‖x‖ (the sign that avoids cancellation in v₀), β = 2 / vᵀv, and updates the trailing
 * block B ← H B H as a symmetric rank-2 update:
 *   p = β B v,  w = p − (β vᵀp / 2) v,  B ← B − v wᵀ − w vᵀ.
 */
function tridiagonalise(a: Float64Array, n: number): { d: Float64Array; e: Float64Array; qt: Float64Array } {
  const w = Float64Array.from(a);
  const d = new Float64Array(n), e = new Float64Array(n), beta = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    // By symmetry, row k right of the diagonal is the column below it, and it is contiguous.
    const row = k * n;
    let tail = 0;
    for (let i = k + 2; i < n; i++) tail += w[row + i]! * w[row + i]!;
    const x0 = w[row + k + 1]!;
    d[k] = w[row + k]!;
    if (tail === 0) {
      e[k] = x0; // already tridiagonal in this column: H = I
      continue;
    }
    const norm = Math.sqrt(x0 * x0 + tail);
    const alpha = x0 >= 0 ? -norm : norm;
    w[row + k + 1] = x0 - alpha; // v now lives in w[k, k+1:]
    const b = 2 / ((x0 - alpha) * (x0 - alpha) + tail);
    beta[k] = b;
    e[k] = alpha;
    // p = β B v over the trailing block, and K = β vᵀp / 2
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      const ri = i * n;
      for (let j = k + 1; j < n; j++) s += w[ri + j]! * w[row + j]!;
      p[i] = b * s;
      vp += w[row + i]! * p[i]!;
    }
    const half = (b * vp) / 2;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - half * w[row + i]!;
    for (let i = k + 1; i < n; i++) {
      const vi = w[row + i]!, wi = p[i]!, ri = i * n;
      for (let j = k + 1; j < n; j++) w[ri + j] = w[ri + j]! - vi * p[j]! - wi * w[row + j]!;
    }
  }
  if (n >= 2) {
    d[n - 2] = w[(n - 2) * n + n - 2]!;
    e[n - 2] = w[(n - 2) * n + n - 1]!;
  }
  if (n >= 1) d[n - 1] = w[n * n - 1]!;

  // Q = H₀ H₁ ⋯ H_{n−3}, accumulated innermost first: H_k only touches rows/columns k+1…n−1, and
  // the product of the later reflections is the identity outside that block.
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  const u = new Float64Array(n);
  for (let k = n - 3; k >= 0; k--) {
    const b = beta[k]!;
    if (b === 0) continue;
    const row = k * n;
    u.fill(0, k + 1, n);
    for (let i = k + 1; i < n; i++) {
      const vi = w[row + i]!, ri = i * n;
      for (let j = k + 1; j < n; j++) u[j] = u[j]! + vi * q[ri + j]!;
    }
    for (let i = k + 1; i < n; i++) {
      const s = b * w[row + i]!, ri = i * n;
      for (let j = k + 1; j < n; j++) q[ri + j] = q[ri + j]! - s * u[j]!;
    }
  }
  return { d, e, qt: transpose(q, n, n) };
}

/**
 * Implicit QL on the symmetric tridiagonal (d, e), accumulating the rotations into the rows of
 * `zt` (zt = Zᵀ: row i is the i-th column of Z). On return d holds the eigenvalues, unordered.
 *
 * For each l, the block l…m is unreduced (e[m] is negligible next to |d[m]| + |d[m+1]|). One sweep
 * applies T − σI = QL, T ← LQ + σI implicitly, as Givens rotations chased from the bottom (m)
 * up to l; σ is the eigenvalue of the leading 2 × 2 block nearer d[l] (Wilkinson's shift), which
 * makes e[l] → 0 cubically in practice.
 */
function tridiagonalQL(d: Float64Array, e: Float64Array, zt: Float64Array, n: number): void {
  const maxSweeps = 60;
  for (let l = 0; l < n; l++) {
    for (let sweep = 0; ; sweep++) {
      let m = l;
      while (m < n - 1 && Math.abs(e[m]!) > EPS * (Math.abs(d[m]!) + Math.abs(d[m + 1]!))) m++;
      if (m === l) break;
      if (sweep === maxSweeps) throw new LinAlgError(`symEig: no convergence for eigenvalue ${l} after ${maxSweeps} QL sweeps`);
      // Shift: with g = (d[l+1] − d[l]) / 2e[l], the eigenvalue of [[d_l, e_l], [e_l, d_{l+1}]] nearer
      // d[l] is d[l] − e[l] / (g + sign(g)·√(g² + 1)). Start the chase with x = d[m] − σ.
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, shiftAcc = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        // Rotation in plane (i, i+1) that annihilates the bulge f against g.
        const f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // The bulge vanished: T split above i+1. Undo the pending shift there and resweep.
          d[i + 1] = d[i + 1]! - shiftAcc;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - shiftAcc;
        r = (d[i]! - g) * s + 2 * c * b;
        shiftAcc = s * r;
        d[i + 1] = g + shiftAcc;
        g = c * r - b;
        // Z ← Z G: columns i and i+1 of Z are rows i and i+1 of zt.
        const ri = i * n, rj = ri + n;
        for (let k = 0; k < n; k++) {
          const zi = zt[ri + k]!, zj = zt[rj + k]!;
          zt[rj + k] = s * zi + c * zj;
          zt[ri + k] = c * zi - s * zj;
        }
      }
      if (underflow) continue;
      d[l] = d[l]! - shiftAcc;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * Eigenvalues and eigenvectors of the symmetric n × n matrix `a` (row-major; only symmetry is
 * assumed, and the lower and upper triangles are both read). Values come back in descending
 * order with V orthonormal, so A = V diag(values) Vᵀ to within a few ulps of ‖A‖.
 * @throws LinAlgError if the sizes disagree, a value is not finite, or QL fails to converge.
 */
export function symEig(a: ArrayLike<number>, n: number): SymEig {
  checkSize("symEig", a, n, n);
  const a64 = Float64Array.from(a);
  for (let i = 0; i < a64.length; i++) if (!Number.isFinite(a64[i]!)) throw new LinAlgError(`symEig: entry ${i} is ${a64[i]}`);
  const { d, e, qt } = tridiagonalise(a64, n);
  tridiagonalQL(d, e, qt, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y]! - d[x]!);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  order.forEach((src, j) => {
    values[j] = d[src]!;
    for (let k = 0; k < n; k++) vectors[k * n + j] = qt[src * n + k]!;
  });
  return { values, vectors };
}

/**
 * Cholesky factor of a symmetric positive definite matrix: A = L Lᵀ, L lower triangular
 * (row-major, zeros above the diagonal). Only the lower triangle of A is read.
 * @throws LinAlgError if A is not (numerically) positive definite.
 */
export function cholesky(a: ArrayLike<number>, n: number): Float64Array {
  checkSize("cholesky", a, n, n);
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    // L_jj² = A_jj − Σ_{k<j} L_jk², then L_ij = (A_ij − Σ_{k<j} L_ik L_jk) / L_jj
    let s = a[j * n + j]!;
    for (let k = 0; k < j; k++) s -= L[j * n + k]! * L[j * n + k]!;
    if (!(s > 0)) throw new LinAlgError(`cholesky: matrix is not positive definite (pivot ${j} is ${s})`);
    const ljj = Math.sqrt(s);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let k = 0; k < j; k++) t -= L[i * n + k]! * L[j * n + k]!;
      L[i * n + j] = t / ljj;
    }
  }
  return L;
}

/** log det A from its Cholesky factor: 2 Σ log L_ii. */
export function logDetFromCholesky(L: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[i * n + i]!);
  return 2 * s;
}

/** log det A of a symmetric positive definite matrix (via Cholesky). */
export function logDetSPD(a: ArrayLike<number>, n: number): number {
  return logDetFromCholesky(cholesky(a, n), n);
}

/** Solves L X = B for lower-triangular L (n × n) and B (n × m), by forward substitution. */
export function solveLower(L: Float64Array, b: ArrayLike<number>, n: number, m = 1): Float64Array {
  checkSize("solveLower", b, n, m);
  const x = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    const lii = L[i * n + i]!;
    for (let k = 0; k < i; k++) {
      const lik = L[i * n + k]!;
      if (lik !== 0) for (let c = 0; c < m; c++) x[i * m + c] = x[i * m + c]! - lik * x[k * m + c]!;
    }
    for (let c = 0; c < m; c++) x[i * m + c] = x[i * m + c]! / lii;
  }
  return x;
}

/** Solves Lᵀ X = B for lower-triangular L (n × n) and B (n × m), by back substitution. */
export function solveLowerT(L: Float64Array, b: ArrayLike<number>, n: number, m = 1): Float64Array {
  checkSize("solveLowerT", b, n, m);
  const x = Float64Array.from(b);
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const lki = L[k * n + i]!; // (Lᵀ)_ik
      if (lki !== 0) for (let c = 0; c < m; c++) x[i * m + c] = x[i * m + c]! - lki * x[k * m + c]!;
    }
    const lii = L[i * n + i]!;
    for (let c = 0; c < m; c++) x[i * m + c] = x[i * m + c]! / lii;
  }
  return x;
}

/** Solves A X = B for symmetric positive definite A given its Cholesky factor L. */
export function choleskySolve(L: Float64Array, b: ArrayLike<number>, n: number, m = 1): Float64Array {
  return solveLowerT(L, solveLower(L, b, n, m), n, m);
}

/** A⁻¹ of a symmetric positive definite matrix (symmetrised). */
export function inverseSPD(a: ArrayLike<number>, n: number): Float64Array {
  const inv = choleskySolve(cholesky(a, n), identity(n), n, n);
  return symmetrise(inv, n);
}

/** (A + Aᵀ) / 2, in place; returns A. */
export function symmetrise(a: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = (a[i * n + j]! + a[j * n + i]!) / 2;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

/** The n × n identity. */
export function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

/** Aᵀ for A of r rows and c columns. */
export function transpose(a: ArrayLike<number>, r: number, c: number): Float64Array {
  checkSize("transpose", a, r, c);
  const t = new Float64Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j]!;
  return t;
}

/** A B for A (n × k) and B (k × m), in the cache-friendly i-k-j order. */
export function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  checkSize("matmul (left)", a, n, k);
  checkSize("matmul (right)", b, k, m);
  const c = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      if (aip === 0) continue;
      const rb = p * m, rc = i * m;
      for (let j = 0; j < m; j++) c[rc + j] = c[rc + j]! + aip * b[rb + j]!;
    }
  }
  return c;
}

/** Aᵀ B for A (k × n) and B (k × m), without forming Aᵀ. */
export function matmulTN(a: ArrayLike<number>, b: ArrayLike<number>, k: number, n: number, m: number): Float64Array {
  checkSize("matmulTN (left)", a, k, n);
  checkSize("matmulTN (right)", b, k, m);
  const c = new Float64Array(n * m);
  for (let p = 0; p < k; p++) {
    for (let i = 0; i < n; i++) {
      const api = a[p * n + i]!;
      if (api === 0) continue;
      const rb = p * m, rc = i * m;
      for (let j = 0; j < m; j++) c[rc + j] = c[rc + j]! + api * b[rb + j]!;
    }
  }
  return c;
}
