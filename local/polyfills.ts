// aws-local-stepfunctions calls Promise.withResolvers, which Node 22 added; Node 20 needs this.
const promise = Promise as unknown as { withResolvers?: unknown };
if (typeof promise.withResolvers !== 'function') {
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise: created, resolve, reject };
  };
}

export {};
