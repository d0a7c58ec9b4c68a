"""furl's bootstrap for Python Lambda handlers.

It speaks the Lambda Runtime API (2018-06-01) over one keep-alive HTTP/1.1 connection (socket module) and
behaves like awslambdaric (aws/aws-lambda-python-runtime-interface-client): the same context
object, handler-string resolution, error types and bodies, and log formats. Standard library
only; it imports as little as it can so that a cold start stays short.

It is started by ../bootstrap.py (python3 -S bootstrap.py <handler>, cwd = LAMBDA_TASK_ROOT).
"""

import os
import sys


def _add_site_dir(d, seen):
    """Adds a site-packages directory and the path lines of its .pth files, without running
    their import lines (those made start-up slow)."""
    if d in seen or not os.path.isdir(d):
        return
    seen.add(d)
    sys.path.append(d)
    try:
        names = sorted(n for n in os.listdir(d) if n.endswith(".pth") and not n.startswith("."))
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(d, name), encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            line = line.rstrip()
            if not line or line.startswith("#") or line.startswith(("import ", "import\t")):
                continue
            p = os.path.join(d, line)
            if p not in seen and os.path.isdir(p):
                seen.add(p)
                sys.path.append(p)


def _set_site_builtins():
    """The builtins the site module adds (exit, quit, help, copyright, credits, license)."""
    try:
        import builtins
        import _sitebuiltins
    except ImportError:
        return
    eof = "Ctrl-D (i.e. EOF)"
    builtins.quit = _sitebuiltins.Quitter("quit", eof)
    builtins.exit = _sitebuiltins.Quitter("exit", eof)
    builtins.copyright = _sitebuiltins._Printer("copyright", sys.copyright)
    builtins.credits = _sitebuiltins._Printer(
        "credits",
        "Thanks to CWI, CNRI, BeOpen.com, Zope Corporation and a cast of thousands\n"
        "    for supporting Python development.  See www.python.org for more information.",
    )
    here = os.path.dirname(os.__file__)
    builtins.license = _sitebuiltins._Printer(
        "license",
        "See https://www.python.org/psf/license/",
        ["LICENSE.txt", "LICENSE"],
        [os.path.join(here, os.pardir), here, os.curdir],
    )
    builtins.help = _sitebuiltins._Helper()


def _setup_path():
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # sys.path[0] is the launcher's directory; the task root takes its place, as on Lambda.
    sys.path[0] = task_root
    if not sys.flags.no_site:
        return
    try:
        _set_site_builtins()
    except Exception:  # never let a convenience break start-up
        pass
    ver = "python%d.%d" % sys.version_info[:2]
    seen = set(sys.path)
    libdirs = ["lib"]
    if getattr(sys, "platlibdir", "lib") != "lib":
        libdirs.append(sys.platlibdir)
    for prefix in dict.fromkeys((sys.prefix, sys.exec_prefix)):
        for lib in libdirs:
            _add_site_dir(os.path.join(prefix, lib, ver, "site-packages"), seen)
        if prefix == "/usr":  # Debian layout
            _add_site_dir("/usr/local/lib/%s/dist-packages" % ver, seen)
            _add_site_dir("/usr/lib/python3/dist-packages", seen)
            _add_site_dir("/usr/lib/%s/dist-packages" % ver, seen)


_setup_path()

import json  # noqa: E402
import time  # noqa: E402

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE U+00A0
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_USER_AGENT = "aws-lambda-python/%d.%d.%d-furl" % sys.version_info[:3]

lambda_unhandled_exception_warning_message = (
    "LAMBDA_WARNING: "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
    LAMBDA_RUNTIME_CLIENT_ERROR = "Runtime.LambdaRuntimeClientError"

    def __init__(self, exception_type, msg, trace=None):
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# ---------------------------------------------------------------------------------------------
# JSON, as awslambdaric's simplejson-based marshaller produces it.

_ENSURE_ASCII = os.environ.get("AWS_EXECUTION_ENV") not in {
    "AWS_Lambda_python3.12",
    "AWS_Lambda_python3.13",
    "AWS_Lambda_python3.14",
    "AWS_Lambda_python3.15",
}


class _NeedsSlowPath(Exception):
    pass


class _RawNumber(float):
    """A Decimal on its way out: encoded as its exact text, as simplejson does."""

    def __new__(cls, text):
        self = float.__new__(cls, 0.0)
        self.text = text
        return self


def _fast_default(obj):
    if isinstance(obj, bytes):
        return obj.decode("utf-8")  # simplejson decodes bytes with its encoding
    if type(obj).__name__ == "Decimal" and type(obj).__module__ in ("decimal", "_decimal", "_pydecimal"):
        raise _NeedsSlowPath()
    raise TypeError("Object of type %s is not JSON serializable" % obj.__class__.__name__)


def _slow_default(obj):
    if type(obj).__name__ == "Decimal" and type(obj).__module__ in ("decimal", "_decimal", "_pydecimal"):
        if obj.is_nan():
            return float("nan")
        return _RawNumber(str(obj))
    return _fast_default(obj)


_fast_encoder = json.JSONEncoder(ensure_ascii=_ENSURE_ASCII, allow_nan=True, default=_fast_default)


def _slow_encode(obj):
    from json import encoder as _enc

    def floatstr(o, _repr=float.__repr__, _inf=float("inf")):
        if isinstance(o, _RawNumber):
            return o.text
        if o != o:
            return "NaN"
        if o == _inf:
            return "Infinity"
        if o == -_inf:
            return "-Infinity"
        return _repr(o)

    enc = _enc.encode_basestring_ascii if _ENSURE_ASCII else _enc.encode_basestring
    it = _enc._make_iterencode(
        {}, _slow_default, enc, None, floatstr, ": ", ", ", False, False, True
    )
    return "".join(it(obj, 0))


def to_json(obj):
    try:
        return _fast_encoder.encode(obj)
    except _NeedsSlowPath:
        return _slow_encode(obj)


def unmarshal_request(request, content_type="application/json"):
    if content_type != "application/json":
        return request
    try:
        return json.loads(request)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR,
            "Unable to unmarshal input: {}".format(str(e)),
            None,
        )


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR,
            "Unable to marshal response: {}".format(str(e)),
            None,
        )


# ---------------------------------------------------------------------------------------------
# The Runtime API client.


class LambdaRuntimeClientError(Exception):
    def __init__(self, endpoint, response_code, response_body):
        self.endpoint = endpoint
        self.response_code = response_code
        self.response_body = response_body
        super().__init__(
            f"Request to Lambda Runtime '{endpoint}' endpoint failed. Reason: '{response_code}'. Response body: '{response_body}'"
        )


class InvocationRequest(object):
    __slots__ = (
        "invoke_id",
        "x_amzn_trace_id",
        "invoked_function_arn",
        "deadline_time_in_ms",
        "client_context",
        "cognito_identity",
        "tenant_id",
        "content_type",
        "event_body",
    )


class _Response(object):
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.body = body


class _Disconnected(Exception):
    """The server closed a kept-alive connection before answering."""


class LambdaRuntimeClient(object):
    """An HTTP/1.1 client for the Runtime API over one keep-alive socket.

    It is written on the socket module rather than http.client: importing http.client pulls in
    email and ssl and costs about as much as the rest of the start-up together."""

    _MAX_LINE = 65536
    _MAX_HEADERS = 200

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self._host = host or "127.0.0.1"
        self._port = int(port)
        self._hostheader = ("Host: %s\r\nUser-Agent: %s\r\n" % (address, _USER_AGENT)).encode("latin-1")
        self._sock = None
        self._rfile = None

    def _connect(self):
        import socket

        # A bytes host keeps getaddrinfo from loading the idna codec.
        sock = socket.create_connection((self._host.encode("ascii", "ignore") or self._host, self._port))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self._sock = sock
        self._rfile = sock.makefile("rb")

    def _close(self):
        if self._rfile is not None:
            try:
                self._rfile.close()
            except OSError:
                pass
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._rfile = None

    def _call(self, method, path, body=None, headers=None):
        reused = self._sock is not None
        try:
            return self._roundtrip(method, path, body, headers)
        except (_Disconnected, BrokenPipeError, ConnectionResetError):
            # The server closed an idle keep-alive connection before it read this request:
            # nothing was processed, so one retry on a fresh connection is safe.
            self._close()
            if not reused:
                raise
            return self._roundtrip(method, path, body, headers)

    def _roundtrip(self, method, path, body, headers):
        if self._sock is None:
            self._connect()
        req = [("%s %s HTTP/1.1\r\n" % (method, path)).encode("latin-1"), self._hostheader]
        if headers:
            for k, v in headers.items():
                if isinstance(v, str):
                    v = v.encode("latin-1", "replace")
                req.append(k.encode("latin-1") + b": " + v + b"\r\n")
        if body is not None:
            req.append(b"Content-Length: %d\r\n\r\n" % len(body))
            req.append(body)
        else:
            req.append(b"\r\n")
        self._sock.sendall(b"".join(req))
        return self._read_response()

    def _readline(self):
        line = self._rfile.readline(self._MAX_LINE + 1)
        if len(line) > self._MAX_LINE:
            raise LambdaRuntimeClientError("", 0, "header line too long")
        return line

    def _read_response(self):
        line = self._readline()
        if not line:
            raise _Disconnected()
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise LambdaRuntimeClientError("", 0, "malformed status line %r" % line)
        status = int(parts[1])
        headers = {}
        for _ in range(self._MAX_HEADERS):
            line = self._readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        else:
            raise LambdaRuntimeClientError("", status, "too many headers")
        if status in (100, 101, 102, 103):  # interim responses: read the real one
            return self._read_response()
        te = headers.get("transfer-encoding", "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                size_line = self._readline()
                if not size_line:
                    raise LambdaRuntimeClientError("", status, "truncated chunked body")
                size = int(size_line.split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self._readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self._read_exact(size))
                self._readline()
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = self._rfile.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self._close()
        return _Response(status, headers, body)

    def _read_exact(self, n):
        data = self._rfile.read(n)
        if len(data) != n:
            raise LambdaRuntimeClientError("", 0, "truncated body")
        return data

    def wait_next_invocation(self):
        endpoint = "/2018-06-01/runtime/invocation/next"
        resp = self._call("GET", endpoint)
        if resp.status != 200:
            raise LambdaRuntimeClientError(endpoint, resp.status, resp.body)
        h = resp.headers
        req = InvocationRequest()
        req.invoke_id = h.get("lambda-runtime-aws-request-id")
        if not req.invoke_id:
            raise LambdaRuntimeClientError(endpoint, resp.status, "missing Lambda-Runtime-Aws-Request-Id")
        req.x_amzn_trace_id = h.get("lambda-runtime-trace-id")
        req.invoked_function_arn = h.get("lambda-runtime-invoked-function-arn")
        try:
            req.deadline_time_in_ms = int(h.get("lambda-runtime-deadline-ms") or 0)
        except ValueError:
            req.deadline_time_in_ms = 0
        req.client_context = h.get("lambda-runtime-client-context")
        req.cognito_identity = h.get("lambda-runtime-cognito-identity")
        req.tenant_id = h.get("lambda-runtime-aws-tenant-id")
        req.content_type = h.get("content-type")
        req.event_body = resp.body
        return req

    def post_invocation_result(self, invoke_id, result_data, content_type="application/json"):
        endpoint = "/2018-06-01/runtime/invocation/" + invoke_id + "/response"
        body = result_data if isinstance(result_data, bytes) else result_data.encode("utf-8")
        self._post(endpoint, body, {"Content-Type": content_type})

    def post_invocation_error(self, invoke_id, error_response_data, xray_fault):
        endpoint = "/2018-06-01/runtime/invocation/" + invoke_id + "/error"
        headers = {"Content-Type": "application/json"}
        xray = xray_fault.encode("utf-8")
        if xray and len(xray) < 1024 * 1024:
            headers[XRAY_CAUSE_HEADER] = xray
        self._post(endpoint, error_response_data.encode("utf-8"), headers)

    def post_init_error(self, error_response_data, error_type_override=None):
        endpoint = "/2018-06-01/runtime/init/error"
        # Like awslambdaric (http.client, no Content-Type), unlike the invocation posts.
        headers = {ERROR_TYPE_HEADER: error_type_override or error_response_data["errorType"]}
        self._post(endpoint, to_json(error_response_data).encode("utf-8"), headers)

    def _post(self, endpoint, body, headers):
        """POSTs body; anything but 202 Accepted is an error, as in awslambdaric."""
        resp = self._call("POST", endpoint, body, headers)
        if resp.status != 202:
            raise LambdaRuntimeClientError(endpoint, resp.status, resp.body)


# ---------------------------------------------------------------------------------------------
# The context object (awslambdaric/lambda_context.py).


class LambdaContext(object):
    def __init__(
        self,
        invoke_id,
        client_context,
        cognito_identity,
        epoch_deadline_time_in_ms,
        invoked_function_arn=None,
        tenant_id=None,
    ):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id

        self.client_context = make_obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = make_obj_from_dict(Client, self.client_context.client)

        self.identity = make_obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        epoch_now_in_ms = int(time.time() * 1000)
        delta_ms = self._epoch_deadline_time_in_ms - epoch_now_in_ms
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        logging = sys.modules.get("logging")
        if logging is None:  # not imported yet, so the Lambda handler is not installed either
            if _LOG_SINK is not None:
                _LOG_SINK.log(str(msg))
                return
        else:
            for handler in logging.getLogger().handlers:
                if hasattr(handler, "log_sink"):
                    handler.log_sink.log(str(msg))
                    return
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client(object):
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"custom={self.custom},"
            f"env={self.env},"
            f"client={self.client}"
            "])"
        )


def make_obj_from_dict(_class, _dict, fields=None):
    if _dict is None:
        return None
    obj = _class()
    set_obj_from_dict(obj, _dict)
    return obj


def set_obj_from_dict(obj, _dict, fields=None):
    if fields is None:
        fields = obj.__class__.__slots__
    for field in fields:
        setattr(obj, field, _dict.get(field, None))


# ---------------------------------------------------------------------------------------------
# Handler resolution and error bodies (awslambdaric/bootstrap.py).


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME,
            "Bad handler '{}': {}".format(handler, str(e)),
        )

    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        import importlib

        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR,
            "Unable to import module '{}': {}".format(modname, str(e)),
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '{}': {}".format(modname, str(e)),
            trace,
        )

    try:
        request_handler = getattr(m, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND,
            "Handler '{}' missing on module '{}'".format(fname, modname),
            None,
        )
    return request_handler


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def replace_line_indentation(line, indent_char, new_indent_char):
    ident_chars_count = 0
    for c in line:
        if c != indent_char:
            break
        ident_chars_count += 1
    return (new_indent_char * ident_chars_count) + line[ident_chars_count:]


def _log_format():
    v = os.environ.get("AWS_LAMBDA_LOG_FORMAT")
    return "JSON" if v and v.upper() == "JSON" else "TEXT"


def _log_level():
    v = os.environ.get("AWS_LAMBDA_LOG_LEVEL")
    return {None: "", "TRACE": "DEBUG"}.get(v, v).upper()


_AWS_LAMBDA_LOG_FORMAT = _log_format()
_AWS_LAMBDA_LOG_LEVEL = _log_level()

_JSON_FRAME_TYPES = {
    0: 0xA55A0002.to_bytes(4, "big"),
    10: 0xA55A000A.to_bytes(4, "big"),
    20: 0xA55A000E.to_bytes(4, "big"),
    30: 0xA55A0012.to_bytes(4, "big"),
    40: 0xA55A0016.to_bytes(4, "big"),
    50: 0xA55A001A.to_bytes(4, "big"),
}
_TEXT_FRAME_TYPES = {
    0: 0xA55A0003.to_bytes(4, "big"),
    10: 0xA55A000B.to_bytes(4, "big"),
    20: 0xA55A000F.to_bytes(4, "big"),
    30: 0xA55A0013.to_bytes(4, "big"),
    40: 0xA55A0017.to_bytes(4, "big"),
    50: 0xA55A001B.to_bytes(4, "big"),
}
_DEFAULT_FRAME_TYPE = _TEXT_FRAME_TYPES[0]


def log_error(error_result, log_sink):
    if _AWS_LAMBDA_LOG_FORMAT == "JSON":
        error_result = {
            "timestamp": time.strftime(_DATETIME_FORMAT, time.gmtime(time.time())),
            "log_level": "ERROR",
            **error_result,
        }
        log_sink.log_error([to_json(error_result)])
        return

    error_description = "[ERROR]"
    error_result_type = error_result.get("errorType")
    if error_result_type:
        error_description += " " + error_result_type
    error_result_message = error_result.get("errorMessage")
    if error_result_message:
        if error_result_type:
            error_description += ":"
        error_description += " " + error_result_message

    error_message_lines = [error_description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        error_message_lines += ["Traceback (most recent call last):"]
        for trace_element in stack_trace:
            if trace_element == "":
                error_message_lines += [""]
            else:
                for trace_line in trace_element.splitlines():
                    error_message_lines += [replace_line_indentation(trace_line, " ", ERROR_LOG_IDENT)]
    log_sink.log_error(error_message_lines)


def extract_traceback(tb):
    import traceback

    return [(frame.filename, frame.lineno, frame.name, frame.line) for frame in traceback.extract_tb(tb)]


def _trim_bootstrap_frames(tb_tuples):
    for i in range(len(tb_tuples)):
        if "/bootstrap.py" not in tb_tuples[i][0]:
            return tb_tuples[i:]
    return tb_tuples


def make_xray_fault(ex_type, ex_msg, working_dir, tb_tuples):
    stack = []
    files = set()
    for t in tb_tuples:
        tb_file, tb_line, tb_method, tb_code = t
        stack.append({"label": tb_method, "path": tb_file, "line": tb_line})
        files.add(tb_file)
    return {
        "working_directory": working_dir,
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": list(files),
    }


def build_fault_result(exc_info, msg, invoke_id=None):
    """The error body of an exception, and its frames without the bootstrap's own."""
    import traceback

    etype, value, tb = exc_info
    tb_tuples = _trim_bootstrap_frames(extract_traceback(tb))
    error = make_error(msg if msg else str(value), etype.__name__, traceback.format_list(tb_tuples), invoke_id)
    return error, tb_tuples


def parse_json_header(header, name):
    try:
        return json.loads(header)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse {} JSON: {}".format(name, str(e)),
            None,
        )


def create_lambda_context(req):
    client_context = None
    if req.client_context:
        client_context = parse_json_header(req.client_context, "Client Context")
    cognito_identity = None
    if req.cognito_identity:
        cognito_identity = parse_json_header(req.cognito_identity, "Cognito Identity")
    return LambdaContext(
        req.invoke_id,
        client_context,
        cognito_identity,
        req.deadline_time_in_ms,
        req.invoked_function_arn,
        req.tenant_id,
    )


def handle_event_request(client, request_handler, req, log_sink):
    error_result = None
    invoke_id = req.invoke_id
    try:
        lambda_context = create_lambda_context(req)
        event = unmarshal_request(req.event_body, req.content_type)
        response = request_handler(event, lambda_context)
        result, result_content_type = marshal_response(response)
    except FaultException as e:
        xray_fault = make_xray_fault("LambdaValidationError", e.msg, os.getcwd(), [])
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        error_result, tb_tuples = build_fault_result(sys.exc_info(), None, invoke_id)
        xray_fault = make_xray_fault(error_result["errorType"], error_result["errorMessage"], os.getcwd(), tb_tuples)

    if error_result is not None:
        log_error(error_result, log_sink)
        client.post_invocation_error(invoke_id, to_json(error_result), to_json(xray_fault))
    else:
        client.post_invocation_result(invoke_id, result, result_content_type)


# ---------------------------------------------------------------------------------------------
# Logging (awslambdaric: root logger handler, unbuffered stdout, optional framed telemetry fd).


class Unbuffered(object):
    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, exc_tb):
        pass

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class StandardLogSink(object):
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, exc_tb):
        pass

    def log(self, msg, frame_type=None):
        sys.stdout.write(msg)

    def log_error(self, message_lines):
        sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(message_lines) + "\n")


class FramedTelemetryLogSink(object):
    """Frames: 4-byte type, 4-byte length, 8-byte timestamp (µs), message; big-endian."""

    def __init__(self, fd):
        self.fd = int(fd)

    def __enter__(self):
        self.file = os.fdopen(self.fd, "wb", 0)
        return self

    def __exit__(self, exc_type, exc_value, exc_tb):
        self.file.close()

    def log(self, msg, frame_type=None):
        encoded_msg = msg.encode("utf8")
        timestamp = int(time.time_ns() / 1000)
        self.file.write(
            (frame_type or _DEFAULT_FRAME_TYPE)
            + len(encoded_msg).to_bytes(4, "big")
            + timestamp.to_bytes(8, "big")
            + encoded_msg
        )

    def log_error(self, message_lines):
        frame = _JSON_FRAME_TYPES[40] if _AWS_LAMBDA_LOG_FORMAT == "JSON" else _TEXT_FRAME_TYPES[40]
        self.log("\n".join(message_lines), frame_type=frame)


def create_log_sink():
    if "_LAMBDA_TELEMETRY_LOG_FD" in os.environ:
        fd = os.environ["_LAMBDA_TELEMETRY_LOG_FD"]
        del os.environ["_LAMBDA_TELEMETRY_LOG_FD"]
        return FramedTelemetryLogSink(fd)
    return StandardLogSink()


_GLOBAL_AWS_REQUEST_ID = None
_GLOBAL_TENANT_ID = None
_LOG_SINK = None


def _format_log_level(record):
    return min(50, max(0, record.levelno)) // 10 * 10


_RESERVED_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "aws_request_id", "tenant_id",
    "_frame_type", "taskName",
}


def _setup_logging(logging, log_format, log_level, log_sink):
    """Installs awslambdaric's root handler on the logging module."""

    class LambdaLoggerHandler(logging.Handler):
        def __init__(self, log_sink):
            logging.Handler.__init__(self)
            self.log_sink = log_sink

        def emit(self, record):
            self.log_sink.log(self.format(record))

    class LambdaLoggerHandlerWithFrameType(logging.Handler):
        def __init__(self, log_sink):
            super().__init__()
            self.log_sink = log_sink

        def emit(self, record):
            self.log_sink.log(
                self.format(record),
                frame_type=(getattr(record, "_frame_type", None) or _TEXT_FRAME_TYPES.get(_format_log_level(record))),
            )

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _GLOBAL_AWS_REQUEST_ID or ""
            record.tenant_id = _GLOBAL_TENANT_ID
            return True

    class JsonFormatter(logging.Formatter):
        def __init__(self):
            super().__init__(datefmt=_DATETIME_FORMAT)
            self._encode = json.JSONEncoder(ensure_ascii=False).encode

        def format(self, record):
            import traceback

            record.levelno = _format_log_level(record)
            record.levelname = logging.getLevelName(record.levelno)
            record._frame_type = _JSON_FRAME_TYPES.get(record.levelno, _JSON_FRAME_TYPES[0])
            ei = record.exc_info
            result = {
                "timestamp": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "stackTrace": traceback.format_tb(ei[2]) if ei else None,
                "errorType": ei[0].__name__ if ei else None,
                "errorMessage": str(ei[1]) if ei else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": f"{record.pathname}:{record.funcName}:{record.lineno}" if ei else None,
            }
            if getattr(record, "tenant_id", None) is not None:
                result["tenantId"] = record.tenant_id
            result.update(
                (key, value)
                for key, value in record.__dict__.items()
                if key not in _RESERVED_FIELDS and key not in result
            )
            result = {k: v for k, v in result.items() if v is not None}
            return self._encode(result) + "\n"

    logging.Formatter.converter = time.gmtime
    logger = logging.getLogger()
    if log_format == "JSON" or log_level:
        logger_handler = LambdaLoggerHandlerWithFrameType(log_sink)
    else:
        logger_handler = LambdaLoggerHandler(log_sink)
    if log_format == "JSON":
        logger_handler.setFormatter(JsonFormatter())
    else:
        logger_handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    if log_level in logging._nameToLevel:
        logger.setLevel(log_level)
    logger_handler.addFilter(LambdaLoggerFilter())
    logger.addHandler(logger_handler)


class _LoggingImportHook(object):
    """A sys.meta_path entry that sets up logging the moment anything imports it.

    awslambdaric imports logging and installs its root handler at start-up. Importing logging
    costs a fifth of this runtime's start-up, and many handlers never log, so the handler is
    installed when logging is first imported instead; by the time any code can log, it is there.
    """

    def __init__(self, install):
        self._install = install

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "logging":
            return None
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is not None:
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _InstallingLoader(spec.loader, self._install)
        return spec


class _InstallingLoader(object):
    def __init__(self, loader, install):
        self._loader = loader
        self._install = install

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # Put the real loader back first, so the module looks imported the usual way.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._install(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def _install_logging(log_sink):
    def install(logging):
        _setup_logging(logging, _AWS_LAMBDA_LOG_FORMAT, _AWS_LAMBDA_LOG_LEVEL, log_sink)

    mod = sys.modules.get("logging")
    if mod is not None:
        install(mod)
    else:
        sys.meta_path.insert(0, _LoggingImportHook(install))


def update_xray_env_variable(xray_trace_id):
    if xray_trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = xray_trace_id
    elif "_X_AMZN_TRACE_ID" in os.environ:
        del os.environ["_X_AMZN_TRACE_ID"]


def run(handler, client):
    global _GLOBAL_AWS_REQUEST_ID, _GLOBAL_TENANT_ID
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)

    global _LOG_SINK
    with create_log_sink() as log_sink:
        _LOG_SINK = log_sink
        error_result = None
        try:
            _install_logging(log_sink)
            request_handler = _get_handler(handler)
        except FaultException as e:
            error_result = make_error(e.msg, e.exception_type, e.trace)
        except Exception:
            error_result, _ = build_fault_result(sys.exc_info(), None)

        if error_result is not None:
            import logging

            logging.warning(lambda_unhandled_exception_warning_message)
            log_error(error_result, log_sink)
            client.post_init_error(error_result)
            sys.exit(1)

        while True:
            req = client.wait_next_invocation()
            _GLOBAL_AWS_REQUEST_ID = req.invoke_id
            _GLOBAL_TENANT_ID = req.tenant_id
            update_xray_env_variable(req.x_amzn_trace_id)
            handle_event_request(client, request_handler, req, log_sink)


def main(argv):
    if len(argv) < 2 or not argv[1]:
        raise ValueError("Handler not set")
    handler = argv[1]
    client = LambdaRuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    run(handler, client)

