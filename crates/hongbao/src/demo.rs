//! `hongbao demo`: a narrated evening among five friends, on a fresh database.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use hongbao_core::ops::{Command, PacketSpec, Reply, TransferReceipt};
use hongbao_core::packet::PacketView;
use hongbao_core::query::{Answer, Query};
use hongbao_core::{CoreError, Fen, GroupId, Limits, PacketId, UserId};
use hongbao_engine::{Clock, Engine, EngineConfig, EngineError, ManualClock, system_now};

struct Demo {
    engine: Engine,
    names: Vec<(UserId, &'static str)>,
}

fn yuan(fen: Fen) -> String {
    format!("¥{}", fen.to_yuan())
}

fn fen(yuan: &str) -> Fen {
    // The demo's own constants: a typo here is a bug in the demo, caught by its test.
    Fen::from_yuan(yuan).unwrap_or(Fen::ZERO)
}

impl Demo {
    fn name(&self, user: UserId) -> &'static str {
        self.names.iter().find(|(id, _)| *id == user).map_or("someone", |(_, name)| name)
    }

    fn user(&self, index: usize) -> UserId {
        self.names[index].0
    }

    async fn exec(&self, command: Command) -> anyhow::Result<Reply> {
        self.engine.execute(command).await.context("the engine failed")
    }

    async fn refused(&self, command: Command) -> anyhow::Result<CoreError> {
        match self.engine.execute(command).await {
            Err(EngineError::Refused(err)) => Ok(err),
            Ok(reply) => bail!("expected a refusal, got {reply:?}"),
            Err(err) => Err(err).context("the engine failed"),
        }
    }

    async fn balance(&self, user: UserId) -> anyhow::Result<Fen> {
        match self.engine.query(&Query::Me { actor: user }).await? {
            Answer::Me(me) => Ok(me.balance),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    async fn view(&self, actor: UserId, packet: PacketId) -> anyhow::Result<PacketView> {
        match self.engine.query(&Query::Packet { actor, packet }).await? {
            Answer::Packet(view) => Ok(view),
            other => bail!("unexpected answer {other:?}"),
        }
    }

    async fn send(&self, sender: UserId, spec: PacketSpec, greeting: &str) -> anyhow::Result<PacketView> {
        let command =
            Command::SendPacket { actor: sender, spec, greeting: Some(greeting.to_owned()), arrival_delay_s: 0 };
        match self.exec(command).await? {
            Reply::Packet(view) => Ok(view),
            other => bail!("unexpected reply {other:?}"),
        }
    }

    async fn claim(&self, user: UserId, packet: PacketId) -> anyhow::Result<Fen> {
        match self.exec(Command::ClaimPacket { actor: user, packet }).await? {
            Reply::Claimed(receipt) => Ok(receipt.amount),
            other => bail!("unexpected reply {other:?}"),
        }
    }

    async fn balances(&self) -> anyhow::Result<String> {
        let mut parts = Vec::new();
        for (id, name) in &self.names {
            parts.push(format!("{name} {}", yuan(self.balance(*id).await?)));
        }
        Ok(parts.join(", "))
    }
}

/// Runs the scenario; fails (exit 1) if any step does not behave as the rules say.
pub async fn run(keep: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let temp = tempfile::tempdir().context("cannot create a temporary directory")?;
    let dir = keep.unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("hongbao-demo.db");
    if path.exists() {
        bail!("{} already exists; the demo needs a fresh database", path.display());
    }
    let store = crate::open_store(&path).await?;
    // A clock that stands still until the story moves it: the demo skips a day in a moment.
    let clock = Arc::new(ManualClock::new(system_now()));
    let limits = Limits::default();
    let engine = Engine::start(store.clone(), clock.clone(), limits.clone(), EngineConfig::default(), None)?;

    println!("hongbao demo — red packets over a double-entry ledger (database: {})\n", path.display());
    let mut demo = Demo { engine, names: Vec::new() };
    for name in ["Wang Fang 王芳", "Li Lei 李雷", "Han Meimei 韩梅梅", "Zhang Wei 张伟", "Liu Yang 刘洋"] {
        let Reply::User(user) = demo.exec(Command::CreateUser { name: name.to_owned() }).await? else {
            bail!("creating a user did not answer a user");
        };
        demo.exec(Command::Deposit { user: user.user_id, amount: fen("100.00") }).await?;
        demo.names.push((user.user_id, name));
    }
    println!("Five friends each top up ¥100.00 from their bank cards.");
    let (wang, li, han, zhang, liu) = (demo.user(0), demo.user(1), demo.user(2), demo.user(3), demo.user(4));
    let Reply::Group(group) = demo
        .exec(Command::CreateGroup {
            actor: wang,
            name: "Spring Festival 春节".to_owned(),
            members: vec![li, han, zhang, liu],
        })
        .await?
    else {
        bail!("creating a group did not answer a group");
    };
    let group: GroupId = group.group_id;
    println!("{} starts the group chat \"Spring Festival 春节\" with all five.\n", demo.name(wang));

    // 1. A lucky packet claimed by everyone.
    println!("1. {} sends a lucky packet (拼手气红包): ¥10.00 in 5 shares.", demo.name(wang));
    let lucky =
        demo.send(wang, PacketSpec::Lucky { group_id: group, count: 5, total: fen("10.00") }, "新年快乐!").await?;
    for user in [li, han, zhang, liu, wang] {
        let amount = demo.claim(user, lucky.packet_id).await?;
        println!("   {} grabs {}", demo.name(user), yuan(amount));
    }
    let view = demo.view(wang, lucky.packet_id).await?;
    let best = view.best_luck.context("a finished lucky packet has a best-luck claimant")?;
    let sum = Fen::checked_sum(view.claims.iter().map(|c| c.amount))?;
    println!("   All 5 shares taken ({} in all); 手气最佳 (best luck): {}.", yuan(sum), demo.name(best));
    if sum != lucky.total || view.status != hongbao_core::packet::PacketStatus::Exhausted {
        bail!("the lucky packet's shares do not add up");
    }

    // 2. A normal packet half claimed, then refunded at expiry.
    println!("\n2. {} sends a normal packet (普通红包): 4 shares of ¥2.00.", demo.name(li));
    let normal =
        demo.send(li, PacketSpec::Normal { group_id: group, count: 4, amount_each: fen("2.00") }, "喝茶钱").await?;
    for user in [han, zhang] {
        let amount = demo.claim(user, normal.packet_id).await?;
        println!("   {} claims {}", demo.name(user), yuan(amount));
    }
    let before = demo.balance(li).await?;
    println!("   Nobody else claims. The clock moves 24 hours ahead...");
    let now = clock.advance(24 * 3600)?;
    let jobs = demo.engine.run_due(now).await?;
    let after = demo.balance(li).await?;
    let refunded = after.checked_sub(before)?;
    let view = demo.view(li, normal.packet_id).await?;
    println!(
        "   The packet is {}: the unclaimed {} went back to {} by itself ({} packet(s) expired).",
        view.status.as_str(),
        yuan(refunded),
        demo.name(li),
        jobs.expired
    );
    if refunded != fen("4.00") {
        bail!("expected ¥4.00 refunded at expiry, got {}", yuan(refunded));
    }
    let again = demo.engine.run_once(now).await?;
    println!("   Running the expiry job again for the same instant refunds nothing more ({} expired).", again.expired);

    // 3. An exclusive packet recalled before anyone touched it.
    println!("\n3. {} sends {} an exclusive packet (专属红包) of ¥8.88...", demo.name(han), demo.name(zhang));
    let exclusive = demo.send(han, PacketSpec::Exclusive { recipient: zhang, amount: fen("8.88") }, "生日快乐").await?;
    println!("   ...and thinks better of it before {} opens it.", demo.name(zhang));
    let Reply::Recalled(recalled) =
        demo.exec(Command::RecallPacket { actor: han, packet: exclusive.packet_id }).await?
    else {
        bail!("recall did not answer a recall");
    };
    println!("   Recalled (撤回): {} back to {}.", yuan(recalled.refunded), demo.name(han));

    // 4. Recalls the rules refuse.
    println!("\n4. Recalls the rules refuse:");
    let lucky2 = demo.send(zhang, PacketSpec::Lucky { group_id: group, count: 3, total: fen("6.00") }, "抢!").await?;
    let err = demo.refused(Command::RecallPacket { actor: zhang, packet: lucky2.packet_id }).await?;
    println!("   {} tries to recall a lucky packet nobody has touched: refused ({err}).", demo.name(zhang));
    let touched =
        demo.send(liu, PacketSpec::Normal { group_id: group, count: 2, amount_each: fen("5.00") }, "请客").await?;
    demo.exec(Command::OpenPacket { actor: wang, packet: touched.packet_id }).await?;
    let err = demo.refused(Command::RecallPacket { actor: liu, packet: touched.packet_id }).await?;
    println!(
        "   {} opens {}'s normal packet without claiming; {} tries to recall it: refused ({err}).",
        demo.name(wang),
        demo.name(liu),
        demo.name(liu)
    );

    // 5. A delayed transfer revoked before it arrives.
    println!("\n5. {} transfers ¥50.00 to {} with a 2-hour delayed arrival (延时到账).", demo.name(liu), demo.name(li));
    let transfer = Command::Transfer {
        actor: liu,
        to: li,
        amount: fen("50.00"),
        note: Some("房租".to_owned()),
        arrival_delay_s: 7200,
    };
    let Reply::Transfer(TransferReceipt { transfer_id, status, arrives_at, .. }) = demo.exec(transfer).await? else {
        bail!("a transfer did not answer a transfer");
    };
    println!("   It is {status:?} until {arrives_at}. {} realises it went to the wrong person.", demo.name(liu));
    let Reply::Transfer(revoked) = demo.exec(Command::RevokeTransfer { actor: liu, transfer: transfer_id }).await?
    else {
        bail!("revoking did not answer a transfer");
    };
    println!("   Revoked before arrival: the transfer is {:?} and the ¥50.00 never left.", revoked.status);
    let now = clock.advance(3 * 3600)?;
    demo.engine.run_due(now).await?;

    println!("\nBalances now: {}.", demo.balances().await?);
    demo.engine.shutdown().await;

    println!("\nFinally, `hongbao check` on the demo database:");
    let report = hongbao_engine::check(store.as_ref(), &limits).await?;
    println!("{report}");
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
