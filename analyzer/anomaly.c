/* The EWMA baseline and the consecutive-interval rule; see anomaly.h. */
#include "anomaly.h"

#include <math.h>
#include <string.h>

void anomaly_init(struct anomaly_detector *d, const struct anomaly_config *config)
{
    memset(d, 0, sizeof *d);
    d->config = *config;
    if (d->config.consecutive == 0)
        d->config.consecutive = 1;
}

static void learn(struct anomaly_detector *d, double x)
{
    d->observed++;
    double w = 1.0 / (double)d->observed;
    if (w < d->config.alpha)
        w = d->config.alpha;
    double diff = x - d->mean;
    d->mean += w * diff;
    d->variance = (1 - w) * (d->variance + w * diff * diff);
}

double anomaly_sigma(const struct anomaly_detector *d)
{
    double sigma = sqrt(d->variance);
    if (sigma < d->config.min_sigma)
        sigma = d->config.min_sigma;
    if (sigma < d->config.relative_sigma * fabs(d->mean))
        sigma = d->config.relative_sigma * fabs(d->mean);
    return sigma;
}

double anomaly_bound(const struct anomaly_detector *d)
{
    return d->mean + d->config.threshold * anomaly_sigma(d);
}

enum anomaly_verdict anomaly_observe(struct anomaly_detector *d, double value, int learning)
{
    if (learning || d->observed == 0) {
        learn(d, value);
        return ANOMALY_LEARNING;
    }
    if (value <= anomaly_bound(d)) {
        d->streak = 0;
        d->active = 0;
        learn(d, value);
        return ANOMALY_NORMAL;
    }
    d->streak++;
    if (d->active)
        return ANOMALY_ONGOING;
    if (d->streak < d->config.consecutive)
        return ANOMALY_DEVIANT;
    d->active = 1;
    d->alerts++;
    return ANOMALY_ALERT;
}
