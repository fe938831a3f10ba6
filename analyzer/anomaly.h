/* Anomaly detection on a per-interval series (leakshim watch: the live heap's growth and the
 * allocation rate, in bytes per second, one value per interval).
 *
 * Baseline: an exponentially weighted mean and variance of the series. The n-th value seen
 * has the weight w = max(1/n, alpha):
 *     d = x - mean;  mean += w * d;  variance = (1 - w) * (variance + w * d * d)
 * so the first 1/alpha values give their exact mean and (population) variance, and later
 * ones an EWMA with weight alpha. During the learning period every value feeds the baseline
 * and none alerts.
 *
 * After it, a value deviates when it is above
 *     bound = mean + threshold * sigma,  sigma = max(sqrt(variance), min_sigma, relative_sigma * |mean|)
 * (only upwards: a heap that shrinks or an allocation rate that drops is no leak). The floors
 * keep a perfectly flat learning period (variance 0) from alerting on the first byte of
 * noise. An alert is raised when `consecutive` values in a row deviate, once; it stays active
 * until a value is back under the bound. Values that deviate do not feed the baseline (a leak
 * must not become the new normal); normal ones do, so the baseline follows slow drifts. */
#ifndef LEAKSHIM_ANOMALY_H
#define LEAKSHIM_ANOMALY_H

struct anomaly_config {
    double threshold;      /* in standard deviations */
    unsigned consecutive;  /* deviating intervals in a row that raise an alert (>= 1) */
    double alpha;          /* the EWMA's weight of a new value, in (0, 1] */
    double min_sigma;      /* floor of sigma, in the series' unit */
    double relative_sigma; /* floor of sigma as a share of |mean| */
};

struct anomaly_detector {
    struct anomaly_config config;
    double mean, variance;
    unsigned long observed; /* values in the baseline */
    unsigned streak;        /* deviating values in a row */
    int active;             /* an alert is on */
    unsigned long alerts;   /* alerts raised */
};

enum anomaly_verdict {
    ANOMALY_LEARNING, /* the value fed the baseline during the learning period */
    ANOMALY_NORMAL,   /* under the bound (an active alert ends) */
    ANOMALY_DEVIANT,  /* above the bound, not yet `consecutive` in a row */
    ANOMALY_ALERT,    /* above the bound, the `consecutive`-th in a row: an alert is raised */
    ANOMALY_ONGOING,  /* above the bound while the alert is active */
};

void anomaly_init(struct anomaly_detector *d, const struct anomaly_config *config);

/* One interval's value. `learning`: the learning period is not over. Without any learned
 * value yet, a value is learned whatever `learning` says. */
enum anomaly_verdict anomaly_observe(struct anomaly_detector *d, double value, int learning);

/* sigma with its floors, and the bound values are compared with. */
double anomaly_sigma(const struct anomaly_detector *d);
double anomaly_bound(const struct anomaly_detector *d);

#endif
