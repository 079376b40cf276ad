"""Emits the interoperability test's spans, metrics and log records with the OpenTelemetry Python SDK.

OTEL_EXPORTER_OTLP_PROTOCOL (grpc | http/protobuf) and OTEL_EXPORTER_OTLP_ENDPOINT pick the receiver;
PEREGRINE_SERVICE and PEREGRINE_FLAVOR name the resource. Same shapes as the JS SDK part of the test.
"""
import os

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

if os.environ["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

SCOPE, VERSION = "peregrine-interop", "0.3.0"
resource = Resource.create({
    "service.name": os.environ["PEREGRINE_SERVICE"],
    "service.version": "2.0.1",
    "deployment.environment.name": "test",
    "peregrine.flavor": os.environ["PEREGRINE_FLAVOR"],
})

tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = tracer_provider.get_tracer(SCOPE, VERSION)
for t in range(5):
    with tracer.start_as_current_span("GET /api/items/{id}", kind=SpanKind.SERVER, attributes={
        "http.request.method": "GET", "url.path": f"/api/items/{t}", "http.response.status_code": 200,
        "http.route": "/api/items/{id}", "app.trace.number": t,
    }):
        with tracer.start_as_current_span("SELECT items", kind=SpanKind.CLIENT, attributes={
            "db.system": "postgresql", "db.query.text": "SELECT * FROM items WHERE id = $1",
        }):
            pass
tracer_provider.shutdown()

reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=600_000)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter = meter_provider.get_meter(SCOPE, VERSION)
counter = meter.create_counter("peregrine.test.requests", unit="{request}")
histogram = meter.create_histogram("peregrine.test.duration", unit="ms")
for route in ["/a", "/b", "/c"]:
    counter.add(3, {"http.route": route})
    histogram.record(12.5, {"http.route": route})
meter_provider.shutdown()

logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter()))
logger = logger_provider.get_logger(SCOPE, VERSION)
for i in range(4):
    logger.emit(severity_number=SeverityNumber.WARN, severity_text="WARN", body=f"login failed for user {i}",
                attributes={"user.id": f"u{i}", "peregrine.n": i})
logger_provider.shutdown()
