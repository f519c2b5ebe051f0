// A real S3-protocol server for the file-store tests (npm package s3rver), on loopback.
// Config from the environment: PORT, DIRECTORY, BUCKET. Credentials are s3rver's: S3RVER/S3RVER.
import S3rver from 's3rver';

const server = new S3rver({
  port: Number(process.env.PORT),
  address: '127.0.0.1',
  directory: process.env.DIRECTORY,
  silent: true,
  configureBuckets: [{ name: process.env.BUCKET }],
});
await server.run();
console.log('ready');
