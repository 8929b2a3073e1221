// koa@2 installed under the alias `koa2` for the compatibility test; its API is Koa 3's for
// everything the test touches, so it borrows Koa 3's types.
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
