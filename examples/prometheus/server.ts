// koa-sockjs metrics for Prometheus: an echo route whose OpenTelemetry metrics are served on
// GET /metrics in Prometheus' text format, by the OpenTelemetry Prometheus exporter.
//
//   npx tsx examples/prometheus/server.ts   # http://127.0.0.1:8085/metrics (PORT to change it)
//
// Prometheus scrapes it with:   scrape_configs: [{ job_name: koa-sockjs, static_configs: [{ targets: ['127.0.0.1:8085'] }] }]
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import Koa from 'koa';
import { sockjs, Session } from 'koa-sockjs';

class EchoSession extends Session {
  override onMessage(message: unknown) {
    this.send(message);
  }
}

export interface MetricsApp {
  readonly app: Koa;
  /** Flushes and stops the metrics pipeline. */
  shutdown(): Promise<void>;
}

export function createMetricsApp(): MetricsApp {
  // The exporter is a metric reader that answers scrapes; Koa serves it rather than the
  // exporter's own HTTP server, so one port carries both the app and its metrics.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  // An application would usually register it for every library at once, before creating its
  // routes: metrics.setGlobalMeterProvider(meterProvider) from '@opentelemetry/api'.

  const app = new Koa();
  app.use(async function serveMetrics(ctx, next) {
    if (ctx.path !== '/metrics' || ctx.method !== 'GET') return next();
    ctx.respond = false;
    exporter.getMetricsRequestHandler(ctx.req, ctx.res);
  });
  app.use(sockjs({ name: 'echo', prefix: '/echo', session: EchoSession, meterProvider }));
  return { app, shutdown: () => meterProvider.shutdown() };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { app } = createMetricsApp();
  const server = app.listen(Number(process.env.PORT ?? 8085), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`Echo at http://${address}:${port}/echo, metrics at http://${address}:${port}/metrics`);
  });
}
