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
/// Each log has its own submitters, so that one log's account cannot write (or block, by
/// anchoring a huge size) another log's checkpoints. A log id is bound by its first anchor
/// to the account that sent it, or earlier by the owner naming its first submitter; after
/// that only the log's submitters anchor it, and the owner or one of them adds or removes
/// others. Global submitters (made by the owner) may only open, that is bind, new log ids.
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

    /// Accounts allowed to bind a new log id with its first anchor. The owner is made a
    /// submitter at deployment.
    mapping(address => bool) public isSubmitter;

    /// Whether a log id has been bound to its submitters (its first anchor, or the owner).
    mapping(bytes32 => bool) public isBound;

    /// The accounts allowed to anchor (and to manage the submitters of) each bound log.
    mapping(bytes32 => mapping(address => bool)) public isLogSubmitter;

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
    event LogSubmitterAdded(bytes32 indexed logId, address indexed submitter, address by);
    event LogSubmitterRemoved(bytes32 indexed logId, address indexed submitter, address by);

    /// The caller is not the owner.
    error NotOwner(address caller);
    /// The caller is not an authorised submitter.
    error NotSubmitter(address caller);
    /// The caller is not one of the submitters of the bound log `logId` (nor the owner, where
    /// the owner may act).
    error NotLogSubmitter(bytes32 logId, address caller);
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

    /// @notice Authorise `submitter` to anchor log `logId` (the owner, or one of the log's
    ///         submitters). The owner naming the first submitter of a log binds it.
    function addLogSubmitter(bytes32 logId, address submitter) external {
        _checkLogManager(logId);
        _bind(logId, submitter);
    }

    /// @notice Withdraw `submitter`'s authorisation for log `logId` (the owner, or one of the
    ///         log's submitters). The log stays bound even with no submitter left.
    function removeLogSubmitter(bytes32 logId, address submitter) external {
        _checkLogManager(logId);
        isLogSubmitter[logId][submitter] = false;
        emit LogSubmitterRemoved(logId, submitter, msg.sender);
    }

    /// @notice Record checkpoint (`root`, `size`) of log `logId`.
    /// @dev An equal size is accepted (re-anchoring after a lost receipt is harmless;
    ///      two different roots for one size are evidence of a fork, kept on chain).
    ///      The first anchor of an unbound log binds it to the sender, who must be a submitter.
    /// @return index position of the new checkpoint in the log's list
    function anchor(bytes32 logId, bytes32 root, uint64 size) external returns (uint256 index) {
        if (!isLogSubmitter[logId][msg.sender]) {  // one look-up for every anchor but a log's first
            if (isBound[logId]) revert NotLogSubmitter(logId, msg.sender);
            if (!isSubmitter[msg.sender]) revert NotSubmitter(msg.sender);
            _bind(logId, msg.sender);
        }
        Checkpoint[] storage list = checkpoints[logId];
        index = list.length;
        if (index > 0) {
            uint64 previous = list[index - 1].size;
            if (size < previous) revert SizeDecreased(previous, size);
        }
        list.push(Checkpoint(root, size, uint64(block.timestamp)));
        emit Anchored(logId, index, root, size, msg.sender);
    }

    /// Adding a log's submitters: the owner always, a log submitter once the log is bound.
    function _checkLogManager(bytes32 logId) private view {
        if (msg.sender != owner && !isLogSubmitter[logId][msg.sender]) {
            revert NotLogSubmitter(logId, msg.sender);
        }
    }

    function _bind(bytes32 logId, address submitter) private {
        isBound[logId] = true;
        isLogSubmitter[logId][submitter] = true;
        emit LogSubmitterAdded(logId, submitter, msg.sender);
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
