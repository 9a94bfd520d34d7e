/** The train/test split bar: how the data divides between training and testing. */
export function SplitBar({ training, testing }: { training: number; testing: number }) {
  const total = training + testing;
  const trainPercent = total ? Math.round((training / total) * 100) : 0;
  return (
    <div className="split">
      <div className="split-bar" role="img" aria-label={`Train/test split ${trainPercent}% / ${total ? 100 - trainPercent : 0}%`}>
        <div className="split-train" style={{ width: `${trainPercent}%` }} />
        <div className="split-test" style={{ width: `${total ? 100 - trainPercent : 0}%` }} />
      </div>
      <div className="split-legend">
        <span>
          <i className="dot dot-train" /> Training {trainPercent}%
        </span>
        <span>
          <i className="dot dot-test" /> Testing {total ? 100 - trainPercent : 0}%
        </span>
      </div>
    </div>
  );
}
