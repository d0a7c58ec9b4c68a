/*
 * furl's bootstrap for Node.js Lambda handlers.
 *
 * It speaks the Lambda Runtime API (2018-06-01) with Node's own http client (one keep-alive
 * socket) and behaves like aws-lambda-ric 3.3.0 (aws/aws-lambda-nodejs-runtime-interface-client):
 * handler loading (CommonJS, ES modules, .js/.mjs/.cjs, package.json "type"), the context object,
 * async and callback handlers, callbackWaitsForEmptyEventLoop, error bodies, console patching,
 * and response streaming with globalThis.awslambda.streamifyResponse / HttpResponseStream.
 *
 * Usage: node bootstrap.cjs <handler>   (cwd = LAMBDA_TASK_ROOT)
 */
'use strict';

const http = require('http');
const path = require('path');
const fs = require('fs');
const util = require('util');

// ---------------------------------------------------------------------------------------------
// Errors (Errors.js)

function _isError(obj) {
  return (
    obj &&
    obj.name &&
    obj.message &&
    obj.stack &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string'
  );
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || _isError(error)) {
      return {
        errorType: error.name == null ? undefined : error.name.replace(/\x7F/g, '%7F'),
        errorMessage: error.message == null ? undefined : error.message.replace(/\x7F/g, '%7F'),
        trace: error.stack.replace(/\x7F/g, '%7F').split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_err) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function _withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign(
      { errorType: error.name, errorMessage: error.message, code: error.code },
      error,
    );
    if (typeof error.stack == 'string') {
      ret.stack = error.stack.split('\n');
    }
    return ret;
  }
  return error;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => _withEnumerableProperties(v));
  } catch (err) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

const Errors = {};
for (const e of [
  class ImportModuleError extends Error {},
  class HandlerNotFound extends Error {},
  class MalformedHandlerName extends Error {},
  class UserCodeSyntaxError extends Error {},
  class MalformedStreamingHandler extends Error {},
  class InvalidStreamingOperation extends Error {},
  class UnhandledPromiseRejection extends Error {
    constructor(reason, promise) {
      super(reason);
      this.reason = reason;
      this.promise = promise;
    }
  },
]) {
  Errors[e.name] = e;
  e.prototype.name = `Runtime.${e.name}`;
}

function xrayFormatted(err) {
  try {
    const stack = [];
    if (err.stack) {
      const stackLines = err.stack.replace(/\x7F/g, '%7F').split('\n');
      stackLines.shift();
      for (const stackLine of stackLines) {
        let line = stackLine.trim().replace(/\(|\)/g, '');
        line = line.substring(line.indexOf(' ') + 1);
        const label = line.lastIndexOf(' ') >= 0 ? line.slice(0, line.lastIndexOf(' ')) : null;
        let p = label == null || label.length === 0 ? line : line.slice(line.lastIndexOf(' ') + 1);
        p = p.split(':');
        stack.push({ path: p[0], line: parseInt(p[1]), label: label || 'anonymous' });
      }
    }
    const paths = Array.from(new Set(stack.map((s) => s.path)));
    return JSON.stringify({
      working_directory: process.cwd(),
      exceptions: [
        {
          type: err.name == null ? undefined : String(err.name).replace(/\x7F/g, '%7F'),
          message: err.message == null ? undefined : String(err.message).replace(/\x7F/g, '%7F'),
          stack,
        },
      ],
      paths,
    });
  } catch (_) {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Console patching (LogPatch.js)

const REQUEST_ID_SYMBOL = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID_SYMBOL = Symbol.for('aws.lambda.runtime.tenantId');
const setCurrentRequestId = (id) => (global[REQUEST_ID_SYMBOL] = id);
const setCurrentTenantId = (id) => (global[TENANT_ID_SYMBOL] = id);
const structuredConsole = {};

const jsonErrorReplacer = (_, value) => {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: (value.constructor && value.constructor.name) ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
};

function formatJsonMessage(requestId, timestamp, level, tenantId, ...messageParams) {
  const result = { timestamp, level: level.name, requestId };
  if (tenantId != undefined && tenantId != null) {
    result.tenantId = tenantId;
  }
  if (messageParams.length === 1) {
    result.message = messageParams[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...messageParams);
  for (const param of messageParams) {
    if (param instanceof Error) {
      result.errorType = (param.constructor && param.constructor.name) ?? 'UnknownError';
      result.errorMessage = param.message;
      result.stackTrace = typeof param.stack === 'string' ? param.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

const logTextToStdout = (level, message, ...params) => {
  const time = new Date().toISOString();
  const requestId = global[REQUEST_ID_SYMBOL];
  let line = `${time}\t${requestId}\t${level.name}\t${util.format(message, ...params)}`;
  line = line.replace(/\n/g, '\r');
  process.stdout.write(line + '\n');
};

const logJsonToStdout = (level, message, ...params) => {
  const time = new Date().toISOString();
  let line = formatJsonMessage(global[REQUEST_ID_SYMBOL], time, level, global[TENANT_ID_SYMBOL], message, ...params);
  line = line.replace(/\n/g, '\r');
  process.stdout.write(line + '\n');
};

function logToFd(logTarget, json) {
  const typeAndLength = Buffer.alloc(16);
  return (level, message, ...params) => {
    const date = new Date();
    const time = date.toISOString();
    const requestId = global[REQUEST_ID_SYMBOL];
    const enriched = json
      ? formatJsonMessage(requestId, time, level, global[TENANT_ID_SYMBOL], message, ...params)
      : `${time}\t${requestId}\t${level.name}\t${util.format(message, ...params)}\n`;
    typeAndLength.writeUInt32BE(((json ? 0xa55a0002 : 0xa55a0003) | level.tlvMask) >>> 0, 0);
    const messageBytes = Buffer.from(enriched, 'utf8');
    typeAndLength.writeInt32BE(messageBytes.length, 4);
    typeAndLength.writeBigInt64BE(BigInt(date.valueOf()) * 1000n, 8);
    fs.writeSync(logTarget, typeAndLength);
    fs.writeSync(logTarget, messageBytes);
  };
}

function patchConsole() {
  const NopLog = () => {};
  const levels = Object.freeze({
    TRACE: { name: 'TRACE', priority: 1, tlvMask: 0b00100 },
    DEBUG: { name: 'DEBUG', priority: 2, tlvMask: 0b01000 },
    INFO: { name: 'INFO', priority: 3, tlvMask: 0b01100 },
    WARN: { name: 'WARN', priority: 4, tlvMask: 0b10000 },
    ERROR: { name: 'ERROR', priority: 5, tlvMask: 0b10100 },
    FATAL: { name: 'FATAL', priority: 6, tlvMask: 0b11000 },
  });
  const envLevel = process.env['AWS_LAMBDA_LOG_LEVEL'];
  const minLevel = levels[envLevel == null ? undefined : envLevel.toUpperCase()] ?? levels.TRACE;
  const envFormat = process.env['AWS_LAMBDA_LOG_FORMAT'];
  const json = envFormat != null && envFormat.toUpperCase() === 'JSON';

  let log;
  if (process.env['_LAMBDA_TELEMETRY_LOG_FD'] != null) {
    const fd = parseInt(process.env['_LAMBDA_TELEMETRY_LOG_FD']);
    delete process.env['_LAMBDA_TELEMETRY_LOG_FD'];
    log = logToFd(fd, json);
  } else {
    log = json ? logJsonToStdout : logTextToStdout;
  }
  const make = (lvl) =>
    lvl.priority >= minLevel.priority ? (msg, ...params) => log(lvl, msg, ...params) : NopLog;
  console.trace = make(levels.TRACE);
  console.debug = make(levels.DEBUG);
  console.info = make(levels.INFO);
  console.log = console.info;
  console.warn = make(levels.WARN);
  console.error = make(levels.ERROR);
  console.fatal = (msg, ...params) => log(levels.FATAL, msg, ...params);

  structuredConsole.logError = json
    ? (_, err) => console.error(intoError(err))
    : (msg, err) => console.error(msg, toFormatted(intoError(err)));
}

// ---------------------------------------------------------------------------------------------
// Before-exit listener (BeforeExitListener.js)

const LISTENER_SYMBOL = Symbol.for('aws.lambda.beforeExit');
const NO_OP_LISTENER = () => {};
const BeforeExitListener = {
  invoke: () => global[LISTENER_SYMBOL](),
  reset: () => (global[LISTENER_SYMBOL] = NO_OP_LISTENER),
  set: (listener) => (global[LISTENER_SYMBOL] = listener),
};

// ---------------------------------------------------------------------------------------------
// Runtime API client (RAPIDClient.js, with Node's http instead of the native addon)

const HEADER_RESPONSE_MODE = 'Lambda-Runtime-Function-Response-Mode';
const TRAILER_NAME_ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const TRAILER_NAME_ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const XRAY_ERROR_HEADER = 'Lambda-Runtime-Function-XRay-Error-Cause';
const USER_AGENT = `aws-lambda-nodejs/${process.version}-furl`;

// fatal ends the runtime when the Runtime API is gone or refuses a post.
function fatal(err) {
  try {
    process.stderr.write(`${new Date().toISOString()}\t${global[REQUEST_ID_SYMBOL]}\tFATAL\t${err && err.stack ? err.stack : err}\n`.replace(/\n(?!$)/g, '\r'));
  } finally {
    process.exit(1);
  }
}

function _trySerializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (err) {
    throw new Error('Unable to stringify response body');
  }
}

class RAPIDClient {
  constructor(hostnamePort) {
    const i = hostnamePort.lastIndexOf(':');
    this.hostname = hostnamePort.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
    this.port = parseInt(hostnamePort.slice(i + 1), 10);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  _request(method, p, headers, body, expect, callback) {
    const req = http.request(
      { hostname: this.hostname, port: this.port, path: p, method, headers, agent: this.agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          if (expect && res.statusCode !== expect) {
            // As with the native client, a refused post is fatal for the runtime. Exit at once
            // rather than throw: the uncaught-exception path would post again.
            fatal(new Error(`Failed to post to ${p}. Http response code: ${res.statusCode}. ${data.toString()}`));
            return;
          }
          callback(res, data);
        });
      },
    );
    req.on('error', fatal);
    req.end(body);
  }

  postInvocationResponse(response, id, callback) {
    const bodyString = _trySerializeResponse(response);
    const body = Buffer.from(bodyString, 'utf8');
    this._request(
      'POST',
      '/2018-06-01/runtime/invocation/' + encodeURIComponent(id) + '/response',
      { 'Content-Type': 'application/json', 'Content-Length': body.length, 'User-Agent': USER_AGENT },
      body,
      202,
      () => callback(),
    );
  }

  postInvocationError(error, id, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(_trySerializeResponse(response), 'utf8');
    const headers = { 'Content-Type': 'application/json', 'Content-Length': body.length, 'User-Agent': USER_AGENT };
    const xray = xrayFormatted(error);
    if (xray && Buffer.byteLength(xray) < 1024 * 1024 && !/[^\x20-\x7e]/.test(xray)) {
      headers[XRAY_ERROR_HEADER] = xray;
    }
    this._request(
      'POST',
      '/2018-06-01/runtime/invocation/' + encodeURIComponent(id) + '/error',
      headers,
      body,
      202,
      () => callback(),
    );
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    const body = Buffer.from(_trySerializeResponse(response), 'utf8');
    this._request(
      'POST',
      '/2018-06-01/runtime/init/error',
      {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        'User-Agent': USER_AGENT,
        [ERROR_TYPE_HEADER]: response.errorType,
      },
      body,
      0,
      () => callback(),
    );
  }

  nextInvocation() {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: this.hostname,
          port: this.port,
          path: '/2018-06-01/runtime/invocation/next',
          method: 'GET',
          headers: { 'User-Agent': USER_AGENT },
          agent: this.agent,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf-8');
          res.on('data', (chunk) => (data += chunk));
          res.on('end', () => {
            if (res.statusCode !== 200) {
              reject(new Error(`Failed to get next invocation. Http response code: ${res.statusCode}. ${data}`));
              return;
            }
            resolve({ bodyJson: data, headers: res.headers });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  getStreamForInvocationResponse(id, callback, options) {
    const ret = createResponseStream({
      agent: this.agent,
      hostname: this.hostname,
      port: this.port,
      path: '/2018-06-01/runtime/invocation/' + encodeURIComponent(id) + '/response',
      highWaterMark: options == null ? undefined : options.highWaterMark,
    });
    return {
      request: ret.request,
      responseDone: ret.responseDone.then(() => {
        if (callback) callback();
      }),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Response streaming (ResponseStream.js, HttpResponseStream.js)

const failProps = new WeakMap();

function tryCallFail(req, err, callback) {
  const fail = failProps.get(req);
  if (typeof fail === 'function') {
    fail(err, callback);
    return true;
  }
  return false;
}

function writableStreamOnly(inner) {
  const fns = [
    'cork', 'destroy', 'end', 'uncork', 'write',
    'addListener', 'emit', 'eventNames', 'getMaxListeners', 'listenerCount', 'listeners', 'off', 'on',
    'once', 'prependListener', 'prependOnceListener', 'rawListeners', 'removeAllListeners',
    'removeListener', 'setMaxListeners',
    'setContentType',
  ];
  const propsReadWrite = ['destroyed', 'writable', '_onBeforeFirstWrite'];
  const propsReadOnly = [
    'writableFinished', 'writableObjectMode', 'writableBuffer', 'writableEnded', 'writableNeedDrain',
    'writableHighWaterMark', 'writableCorked', 'writableLength',
  ];
  const stream = Object.fromEntries(fns.map((fn) => [fn, inner[fn].bind(inner)]));
  Object.defineProperties(
    stream,
    Object.fromEntries(
      propsReadWrite.map((prop) => [
        prop,
        { get: () => inner[prop], set: (value) => (inner[prop] = value) },
      ]),
    ),
  );
  Object.defineProperties(
    stream,
    Object.fromEntries(propsReadOnly.map((prop) => [prop, { get: () => inner[prop] }])),
  );
  return stream;
}

function createResponseStream(options) {
  let status = 'ready';
  const headers = {
    [HEADER_RESPONSE_MODE]: 'streaming',
    Trailer: [TRAILER_NAME_ERROR_TYPE, TRAILER_NAME_ERROR_BODY],
    'Content-Type': options.contentType ? options.contentType : 'application/octet-stream',
    'User-Agent': USER_AGENT,
  };
  let responseDoneResolve, responseDoneReject;
  const responseDone = new Promise((resolve, reject) => {
    responseDoneResolve = resolve;
    responseDoneReject = reject;
  });
  const req = http.request(
    {
      method: 'POST',
      hostname: options.hostname,
      port: options.port,
      path: options.path,
      headers,
      agent: options.agent,
    },
    (res) => {
      let buf;
      res.on('data', (chunk) => {
        buf = typeof buf === 'undefined' ? chunk : Buffer.concat([buf, chunk]);
      });
      res.on('aborted', (err) => {
        responseDoneReject(err);
        req.destroy(err);
      });
      res.on('end', () => responseDoneResolve(buf));
    },
  );
  req.on('error', (err) => {
    responseDoneReject(err);
    req.destroy(err);
  });

  const origEnd = req.end.bind(req);
  req.end = function (cb) {
    origEnd(cb);
  };
  req.setContentType = function (contentType) {
    if (status !== 'ready') {
      throw new Errors.InvalidStreamingOperation('Cannot set content-type, too late.');
    }
    req.setHeader('Content-Type', contentType);
  };
  const origWrite = req.write.bind(req);
  req.write = function (chunk, encoding, callback) {
    if (
      typeof chunk !== 'string' &&
      !Buffer.isBuffer(chunk) &&
      (chunk == null ? undefined : chunk.constructor) !== Uint8Array
    ) {
      chunk = JSON.stringify(chunk);
    }
    if (status === 'ready' && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((ch) => origWrite(ch));
    }
    const ret = origWrite(chunk, encoding, callback);
    if (status === 'ready') {
      status = 'write_called';
    }
    return ret;
  };

  const request = writableStreamOnly(req);
  failProps.set(request, function (err, callback) {
    const error = toRapidResponse(err);
    req.addTrailers({
      [TRAILER_NAME_ERROR_TYPE]: error.errorType,
      [TRAILER_NAME_ERROR_BODY]: Buffer.from(JSON.stringify(error)).toString('base64'),
    });
    req.end(callback);
  });
  return { request, responseDone };
}

const METADATA_PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER_LEN = 8;

class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(METADATA_PRELUDE_CONTENT_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(DELIMITER_LEN));
    };
    return underlyingStream;
  }
}

// ---------------------------------------------------------------------------------------------
// Invoke context (InvokeContext.js), callback context (CallbackContext.js), streaming context

function _parseJson(jsonString, name) {
  if (jsonString === undefined) return undefined;
  try {
    return JSON.parse(jsonString);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

class InvokeContext {
  constructor(headers) {
    this.headers = {};
    for (const k of Object.keys(headers)) this.headers[k.toLowerCase()] = headers[k];
  }

  get invokeId() {
    const id = this.headers['lambda-runtime-aws-request-id'];
    if (!id) {
      const err = new Error('invocation id is missing or invalid');
      err.name = 'AssertionError';
      throw err;
    }
    return id;
  }

  get tenantId() {
    return this.headers['lambda-runtime-aws-tenant-id'];
  }

  updateLoggingContext() {
    setCurrentRequestId(this.invokeId);
    setCurrentTenantId(this.tenantId);
  }

  attachEnvironmentData(callbackContext) {
    const trace = this.headers['lambda-runtime-trace-id'];
    if (trace) {
      process.env['_X_AMZN_TRACE_ID'] = trace;
    } else {
      delete process.env['_X_AMZN_TRACE_ID'];
    }
    const deadline = this.headers['lambda-runtime-deadline-ms'];
    return Object.assign(
      callbackContext,
      {
        functionVersion: process.env['AWS_LAMBDA_FUNCTION_VERSION'],
        functionName: process.env['AWS_LAMBDA_FUNCTION_NAME'],
        memoryLimitInMB: process.env['AWS_LAMBDA_FUNCTION_MEMORY_SIZE'],
        logGroupName: process.env['AWS_LAMBDA_LOG_GROUP_NAME'],
        logStreamName: process.env['AWS_LAMBDA_LOG_STREAM_NAME'],
      },
      {
        clientContext: _parseJson(this.headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: _parseJson(this.headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: this.headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: this.headers['lambda-runtime-aws-request-id'],
        tenantId: this.headers['lambda-runtime-aws-tenant-id'],
        getRemainingTimeInMillis: function () {
          return deadline - Date.now();
        },
      },
    );
  }
}

function buildCallbackContext(client, id, scheduleNext) {
  const postError = (err, cb) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, cb);
  };
  let isCompleteInvoked = false;
  const complete = (result, cb) => {
    if (isCompleteInvoked) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once per invocation.',
      );
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id, cb);
  };
  let waitForEmptyEventLoop = true;
  const callback = function (err, result) {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      BeforeExitListener.set(() => {
        setImmediate(() => complete(result, scheduleNext));
      });
    }
  };
  const done = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else {
      complete(result, scheduleNext);
    }
  };
  const succeed = (result) => done(null, result);
  const fail = (err) => {
    if (err === undefined || err === null) {
      done('handled');
    } else {
      done(err, null);
    }
  };
  const callbackContext = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed,
    fail,
    done,
  };
  const markCompleted = () => {
    isCompleteInvoked = true;
  };
  // Only the first completion call counts.
  let finished = false;
  const onlyFirst = (fn) =>
    function () {
      if (!finished) {
        fn.apply(null, arguments);
        finished = true;
      }
    };
  callbackContext.succeed = onlyFirst(callbackContext.succeed);
  callbackContext.fail = onlyFirst(callbackContext.fail);
  callbackContext.done = onlyFirst(callbackContext.done);
  return [onlyFirst(callback), callbackContext, markCompleted];
}

function buildStreamingContext(client, id, scheduleNext, options) {
  let waitForEmptyEventLoop = true;
  const scheduleNextNow = () => {
    if (!waitForEmptyEventLoop) {
      scheduleNext();
    } else {
      BeforeExitListener.set(() => setImmediate(() => scheduleNext()));
    }
  };
  let isStreamCreated = false;
  return {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    createStream: (callback) => {
      if (isStreamCreated) {
        throw new Errors.InvalidStreamingOperation(
          'Cannot create stream for the same StreamingContext more than once.',
        );
      }
      const { request: responseStream, responseDone: rapidResponse } =
        client.getStreamForInvocationResponse(id, callback, options);
      isStreamCreated = true;
      return {
        fail: (err, cb) => {
          structuredConsole.logError('Invoke Error', err);
          tryCallFail(responseStream, err, cb);
        },
        responseStream,
        rapidResponse,
        scheduleNext: () => {
          BeforeExitListener.reset();
          scheduleNextNow();
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Handler loading (UserFunction.js)

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const RELATIVE_PATH_SUBSTRING = '..';
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const NoGlobalAwsLambda =
  process.env['AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA'] === '1' ||
  process.env['AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA'] === 'true';

function _moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function _splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length != 3) {
    throw new Errors.MalformedHandlerName('Bad handler');
  }
  return [match[1], match[2]];
}

function _resolveHandler(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function _tryRequireFile(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function _tryAwaitImport(file, extension) {
  const p = file + (extension || '');
  if (fs.existsSync(p)) {
    return await import(p);
  }
  return undefined;
}

function _hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) {
    return false;
  }
  const pj = path.join(folder, '/package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) {
        return pkg.type === 'module';
      }
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') {
    return false;
  }
  return _hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

function _hasPackageJsonTypeModule(file) {
  const jsPath = file + '.js';
  return fs.existsSync(jsPath) ? _hasFolderPackageJsonTypeModule(path.resolve(path.dirname(jsPath))) : false;
}

async function _tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = _tryRequireFile(lambdaStylePath);
  if (extensionless) {
    return extensionless;
  }
  const pjHasModule = _hasPackageJsonTypeModule(lambdaStylePath);
  if (!pjHasModule) {
    const loaded = _tryRequireFile(lambdaStylePath, '.js');
    if (loaded) {
      return loaded;
    }
  }
  const loaded =
    (pjHasModule && (await _tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await _tryAwaitImport(lambdaStylePath, '.mjs')) ||
    _tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) {
    return loaded;
  }
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

async function _loadUserApp(appRoot, moduleRoot, module) {
  if (!NoGlobalAwsLambda) {
    globalThis.awslambda = {
      streamifyResponse: (handler, options) => {
        handler[HANDLER_STREAMING] = STREAM_RESPONSE;
        if (typeof (options == null ? undefined : options.highWaterMark) === 'number') {
          handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark);
        }
        return handler;
      },
      HttpResponseStream,
    };
  }
  try {
    return await _tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new Errors.UserCodeSyntaxError(e);
    } else if (e.code !== undefined && e.code === 'MODULE_NOT_FOUND') {
      throw new Errors.ImportModuleError(e);
    } else {
      throw e;
    }
  }
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes(RELATIVE_PATH_SUBSTRING)) {
    throw new Errors.MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const [moduleRoot, moduleAndHandler] = _moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = _splitHandlerString(moduleAndHandler);
  const userApp = await _loadUserApp(appRoot, moduleRoot, module);
  const handlerFunc = _resolveHandler(userApp, handlerPath);
  if (!handlerFunc) {
    throw new Errors.HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  }
  if (typeof handlerFunc !== 'function') {
    throw new Errors.HandlerNotFound(`${fullHandlerString} is not a function`);
  }
  return handlerFunc;
}

function getHandlerMetadata(handlerFunc) {
  let streaming = false;
  const s = handlerFunc[HANDLER_STREAMING];
  if (!(s === undefined || s === null || s === false)) {
    if (s !== STREAM_RESPONSE) {
      throw new Errors.MalformedStreamingHandler('Only response streaming is supported.');
    }
    streaming = STREAM_RESPONSE;
  }
  let highWaterMark;
  const h = handlerFunc[HANDLER_HIGHWATERMARK];
  if (!(h === undefined || h === null || h === false)) {
    const hwm = parseInt(h);
    highWaterMark = isNaN(hwm) ? undefined : hwm;
  }
  return { streaming, highWaterMark };
}

// ---------------------------------------------------------------------------------------------
// The invoke loop (Runtime.js)

function _isPromise(obj) {
  return obj && obj.then && typeof obj.then === 'function';
}

class Runtime {
  constructor(client, handler, handlerMetadata, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.handlerMetadata = handlerMetadata;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce =
      handlerMetadata.streaming === STREAM_RESPONSE ? this.handleOnceStreaming : this.handleOnceNonStreaming;
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(
        () => {},
        (err) => {
          console.log(`Unexpected Top Level Error: ${err.toString()}`);
          this.errorCallbacks.uncaughtException(err);
        },
      );
    });
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();
    const [callback, callbackContext, markCompleted] = buildCallbackContext(
      this.client,
      invokeContext.invokeId,
      this.scheduleIteration.bind(this),
    );
    try {
      this._setErrorCallbacks(invokeContext.invokeId);
      this._setDefaultExitListener(invokeContext.invokeId, markCompleted);
      const result = this.handler(
        JSON.parse(bodyJson),
        invokeContext.attachEnvironmentData(callbackContext),
        callback,
      );
      if (_isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();
    const hwm = this.handlerMetadata && this.handlerMetadata.highWaterMark;
    const streamingContext = buildStreamingContext(
      this.client,
      invokeContext.invokeId,
      this.scheduleIteration.bind(this),
      hwm ? { highWaterMark: hwm } : undefined,
    );
    const { responseStream, rapidResponse, scheduleNext, fail: ctxFail } = streamingContext.createStream();
    delete streamingContext.createStream;
    try {
      this._setErrorCallbacks(invokeContext.invokeId);
      BeforeExitListener.set(() => this.scheduleIteration());
      const ctx = invokeContext.attachEnvironmentData(streamingContext);
      const event = JSON.parse(bodyJson);
      const handlerResult = this.handler(event, responseStream, ctx);
      if (!_isPromise(handlerResult)) {
        ctxFail('Streaming does not support non-async handlers.', scheduleNext);
        return;
      }
      const result = await handlerResult;
      if (typeof result !== 'undefined') {
        console.warn('Streaming handlers ignore return values.');
      }
      if (rapidResponse) {
        await rapidResponse;
      }
      if (!responseStream.writableFinished) {
        ctxFail('Response stream is not finished.', scheduleNext);
        return;
      }
      scheduleNext();
    } catch (err) {
      ctxFail(err, scheduleNext);
    }
  }

  _setErrorCallbacks(invokeId) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(129));
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, invokeId, () => process.exit(128));
    };
  }

  _setDefaultExitListener(invokeId, markCompleted) {
    BeforeExitListener.set(() => {
      markCompleted();
      this.client.postInvocationResponse(null, invokeId, () => this.scheduleIteration());
    });
  }
}

async function run(appRoot, handler) {
  patchConsole();
  const client = new RAPIDClient(process.env.AWS_LAMBDA_RUNTIME_API);
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  process.on('uncaughtException', (error) => {
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new Errors.UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  BeforeExitListener.reset();
  process.on('beforeExit', BeforeExitListener.invoke);
  const handlerFunc = await loadHandler(appRoot, handler);
  const metadata = getHandlerMetadata(handlerFunc);
  new Runtime(client, handlerFunc, metadata, errorCallbacks).scheduleIteration();
}

if (process.argv.length < 3) {
  throw new Error('No handler specified');
}
if (!process.env.AWS_LAMBDA_RUNTIME_API) {
  throw new Error('AWS_LAMBDA_RUNTIME_API is not set');
}
// Like a rejected top-level await in the RIC's ESM entry point, a failed init surfaces as an
// uncaught exception: /init/error, then exit 129.
run(process.cwd(), process.argv[2]).catch((err) => {
  process.nextTick(() => {
    throw err;
  });
});
