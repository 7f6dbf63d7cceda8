// The log–log regressions of walkthroughs 03 and 04: the errors of GLOREE's fits against the
// number of training windows N (one row per fit), and the table /estimate/error_slopes that
// the figures draw from (Scripts/plot.py, errors_against_n_figure).

import Foundation

/// A least-squares line of y on x: its slope, the slope's standard error from the residuals,
/// the centre (x̄, ȳ) it pivots on and the residual sd s (se = s/√Σ(x − x̄)²).
public struct LeastSquaresLine: Sendable {
    public let slope: Double
    public let standardError: Double
    public let meanX: Double
    public let meanY: Double
    public let residualSD: Double
    /// The number of points.
    public let count: Int

    /// The line through the points (x_i, y_i) (at least 2, not all x equal).
    public init(_ x: [Double], _ y: [Double]) {
        let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        let sxx = x.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
        let b = zip(x, y).map { ($0 - mx) * ($1 - my) }.reduce(0, +) / sxx
        let residual = zip(x, y).map { pow($1 - my - b * ($0 - mx), 2) }.reduce(0, +)
        let s = (residual / max(1, n - 2)).squareRoot()
        slope = b
        standardError = s / sxx.squareRoot()
        meanX = mx
        meanY = my
        residualSD = s
        count = x.count
    }

    /// A line that could not be fitted (fewer than 3 distinct x): every number NaN.
    public static let unfitted = LeastSquaresLine(nan: ())
    private init(nan: ()) {
        slope = .nan; standardError = .nan; meanX = .nan; meanY = .nan; residualSD = .nan; count = 0
    }
}

/// The log–log lines of the error columns of a table with one row of `columns` values per fit
/// (column 0 the number of windows N, columns `errorColumns` the errors): per column, the line
/// of log error on log N over the rows whose error is finite, or nil with fewer than 3 distinct
/// sizes; and the flat table of `/estimate/error_slopes` (per column: slope, se, mean log N,
/// mean log error, residual sd, fits, and k — the two-sided Student-t quantile with n − 2 df
/// at `falseAlarmRate`, the band of the line being ±k·√(s²/n + se²(log N − mean log N)²)).
public func errorSlopes(_ table: [Double], columns: Int, errorColumns: Range<Int>, falseAlarmRate: Double)
    -> (lines: [LeastSquaresLine?], table: [Double]) {
    var lines: [LeastSquaresLine?] = [], flat: [Double] = []
    for column in errorColumns {
        let pairs = stride(from: 0, to: table.count, by: columns).map { (log(table[$0]), log(table[$0 + column])) }.filter { $0.1.isFinite }
        let x = pairs.map(\.0), y = pairs.map(\.1)
        guard pairs.count >= 3, Set(x).count >= 3 else {
            lines.append(nil)
            flat += [.nan, .nan, .nan, .nan, .nan, Double(pairs.count), .nan]
            continue
        }
        let line = LeastSquaresLine(x, y)
        let k = StudentT.criticalValue(twoSidedTail: falseAlarmRate, degreesOfFreedom: x.count - 2)
        lines.append(line)
        flat += [line.slope, line.standardError, line.meanX, line.meanY, line.residualSD, Double(x.count), k]
    }
    return (lines, flat)
}
