// SPDX-License-Identifier: Apache-2.0
// Exact pragma: the committed artifact is checked byte for byte against a fresh compile
// with the solc version pinned in package.json, so the two are bumped together.
pragma solidity 0.8.37;

/// @title LedgerAnchor
/// @notice Public record of Tracemark log checkpoints (tree size + RFC 9162 Merkle root).
///
/// Several logs (one per authority) share one contract; each log is named by a
/// `bytes32 logId` (the keccak256 of the log's checkpoint origin line). For every log the
/// contract keeps the append-only list of anchored checkpoints and refuses a size smaller
/// than the last one, so an operator who later rewrites or truncates the log cannot make
/// the chain agree with it.
///
/// The contract does not (and cannot cheaply) check that a new root is consistent with the
/// previous one: verifiers do that off chain with RFC 9162 consistency proofs, using the
/// roots recorded here.
contract LedgerAnchor {
    /// One anchored checkpoint. Packed into two storage slots.
    struct Checkpoint {
        bytes32 root;      // RFC 9162 root hash of the log's first `size` entries
        uint64 size;       // tree size (number of entries)
        uint64 timestamp;  // block timestamp when anchored
    }

    /// The account that manages submitters (the deployer). Deliberately not `immutable`:
    /// immutables are spliced into the deployed code, and clients check that the code at an
    /// anchor address equals the artifact's `deployedBytecode` exactly.
    address public owner;

    /// Accounts allowed to call `anchor`. The owner is made a submitter at deployment.
    mapping(address => bool) public isSubmitter;

    /// Checkpoints per log, in anchoring order.
    mapping(bytes32 => Checkpoint[]) private checkpoints;

    event Anchored(
        bytes32 indexed logId,
        uint256 indexed index,
        bytes32 root,
        uint64 size,
        address submitter
    );
    event SubmitterAdded(address indexed submitter);
    event SubmitterRemoved(address indexed submitter);

    /// The caller is not the owner.
    error NotOwner(address caller);
    /// The caller is not an authorised submitter.
    error NotSubmitter(address caller);
    /// The given size is smaller than the log's last anchored size.
    error SizeDecreased(uint64 previous, uint64 given);
    /// `get` was asked for an index at or beyond the log's checkpoint count.
    error IndexOutOfRange(uint256 index, uint256 count);
    /// `latest` was asked about a log that has no checkpoint yet.
    error NoCheckpoint(bytes32 logId);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    constructor() {
        owner = msg.sender;
        isSubmitter[msg.sender] = true;
        emit SubmitterAdded(msg.sender);
    }

    function addSubmitter(address submitter) external onlyOwner {
        isSubmitter[submitter] = true;
        emit SubmitterAdded(submitter);
    }

    function removeSubmitter(address submitter) external onlyOwner {
        isSubmitter[submitter] = false;
        emit SubmitterRemoved(submitter);
    }

    /// @notice Record checkpoint (`root`, `size`) of log `logId`.
    /// @dev An equal size is accepted (re-anchoring after a lost receipt is harmless;
    ///      two different roots for one size are evidence of a fork, kept on chain).
    /// @return index position of the new checkpoint in the log's list
    function anchor(bytes32 logId, bytes32 root, uint64 size) external returns (uint256 index) {
        if (!isSubmitter[msg.sender]) revert NotSubmitter(msg.sender);
        Checkpoint[] storage list = checkpoints[logId];
        index = list.length;
        if (index > 0) {
            uint64 previous = list[index - 1].size;
            if (size < previous) revert SizeDecreased(previous, size);
        }
        list.push(Checkpoint(root, size, uint64(block.timestamp)));
        emit Anchored(logId, index, root, size, msg.sender);
    }

    /// @notice Number of checkpoints anchored for `logId`.
    function count(bytes32 logId) external view returns (uint256) {
        return checkpoints[logId].length;
    }

    /// @notice Checkpoint number `i` of `logId`.
    function get(bytes32 logId, uint256 i)
        external
        view
        returns (bytes32 root, uint64 size, uint64 timestamp)
    {
        Checkpoint[] storage list = checkpoints[logId];
        if (i >= list.length) revert IndexOutOfRange(i, list.length);
        Checkpoint storage c = list[i];
        return (c.root, c.size, c.timestamp);
    }

    /// @notice The last checkpoint of `logId`, with its index.
    function latest(bytes32 logId)
        external
        view
        returns (uint256 index, bytes32 root, uint64 size, uint64 timestamp)
    {
        Checkpoint[] storage list = checkpoints[logId];
        if (list.length == 0) revert NoCheckpoint(logId);
        index = list.length - 1;
        Checkpoint storage c = list[index];
        return (index, c.root, c.size, c.timestamp);
    }
}
