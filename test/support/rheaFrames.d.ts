/**
 * rhea's frame constructors, for tests that write an AMQP frame by hand (e.g. one a client API will not
 * send). rhea publishes no typings for this module; only what the tests use is declared.
 */
declare module 'rhea/lib/frames' {
  interface Frames {
    disposition(fields: { role: boolean; first: number; last?: number; settled?: boolean }): unknown;
  }
  const frames: Frames;
  export default frames;
}
