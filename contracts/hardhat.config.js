// Hardhat is used here only as a local JSON-RPC dev chain (`npx hardhat node`) for the
// integration test; the contract is compiled by compile.js with the pinned solc, not by Hardhat.
/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  paths: { sources: "./hardhat-sources-unused", cache: "./node_modules/.hardhat-cache", artifacts: "./node_modules/.hardhat-artifacts" },
  networks: { hardhat: { chainId: 31337 } },
};
