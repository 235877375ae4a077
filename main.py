"""NExT-GPT Live: argument parsing and wiring. `python main.py --help` lists the commands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nextgpt-live", description="A local, streaming, any-to-any assistant.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    commands = parser.add_subparsers(dest="command")

    ask = commands.add_parser("ask", help="one request: any inputs to any outputs")
    ask.add_argument("--text", default="", help="what to ask")
    ask.add_argument("--image", action="append", default=[], metavar="FILE", help="an image input (repeatable)")
    ask.add_argument("--audio", action="append", default=[], metavar="FILE",
                     help="an audio input (repeatable); speech is transcribed and becomes your text")
    ask.add_argument("--video", action="append", default=[], metavar="FILE", help="a video input (repeatable)")
    ask.add_argument("--want", default=None, help="outputs: text,speech,image,audio,video (default: the model decides)")
    ask.add_argument("--out", type=Path, default=Path("out"), help="folder for generated media (default: out)")
    ask.add_argument("--profile", default="local", help="profile name or .toml path (default: local)")
    ask.add_argument("--json", action="store_true", help="print one JSON object")

    models = commands.add_parser("models", help="each role: model, weights source, parameters")
    models.add_argument("--profile", default="local")
    models.add_argument("--json", action="store_true")

    live = commands.add_parser("live", help="a headless live session: camera and microphone in, answers out")
    live.add_argument("--camera", default=None, help="camera index (0) or a video file played as the camera")
    live.add_argument("--mic", default="default", help="'default', a device name or index, or an audio file")
    live.add_argument("--seconds", type=float, default=None, help="stop after N seconds (default: until Ctrl-C)")
    live.add_argument("--speak", action="store_true", help="answer in speech too, sentence by sentence")
    live.add_argument("--wake-word", default=None, choices=("okay_nabu", "hey_jarvis", "hey_mycroft", "alexa"),
                      help="answer only after this wake word (microWakeWord's models, offline)")
    live.add_argument("--headphones", action="store_true",
                      help="with --speak: no echo cancellation (by default the microphone is cleaned of the "
                           "assistant's own voice, so it neither answers nor interrupts itself)")
    live.add_argument("--narrate", action="store_true",
                      help="say what comes into and leaves the camera's view (with --speak: aloud)")
    live.add_argument("--want", default=None, help="outputs per turn, as for ask (default: the model decides)")
    live.add_argument("--profile", default="local")
    live.add_argument("--data", type=Path, default=None, help="history folder (default: the user data folder)")
    live.add_argument("--conversation", default=None, help="resume this conversation id")
    live.add_argument("--json", action="store_true", help="one JSON object per line per event")

    serve = commands.add_parser("serve", help="the MQTT bridge: smart-home devices send inputs, get outputs")
    serve.add_argument("--broker", default="localhost:1883", help="HOST:PORT of the MQTT broker")
    serve.add_argument("--username", default=None)
    serve.add_argument("--password-file", default=None, help="a file holding the broker password")
    serve.add_argument("--tls-ca", default=None, help="CA certificate: connect with TLS")
    serve.add_argument("--tls-cert", default=None, help="client certificate")
    serve.add_argument("--tls-key", default=None, help="client key")
    serve.add_argument("--prefix", default="nextgpt", help="topic prefix (default nextgpt)")
    serve.add_argument("--profile", default="local")
    serve.add_argument("--allow", action="append", default=None, metavar="DEVICE",
                       help="only these device ids are served (repeatable; default: all)")
    serve.add_argument("--client-id", default=None, help="MQTT client id (default: nextgpt-bridge-HOSTNAME); "
                       "the broker keeps this id's session, so requests sent while the bridge is away wait for it")
    serve.add_argument("--discovery", action="store_true",
                       help="announce the assistant to Home Assistant (MQTT discovery): status, last answer, images")
    serve.add_argument("--remove-discovery", action="store_true", help="remove it from Home Assistant, then exit")
    serve.add_argument("--share-group", default=None,
                       help="MQTT 5 shared subscription group: several serve processes split one device fleet")
    serve.add_argument("--wyoming", default=None, metavar="URI",
                       help="also serve Home Assistant's voice pipeline over Wyoming on the same engine "
                            "(e.g. tcp://0.0.0.0:10300)")
    serve.add_argument("--zeroconf", action="store_true", help="with --wyoming: announce it for Home Assistant")
    serve.add_argument("--data", type=Path, default=None,
                       help="with --wyoming: history folder (default: the user data folder)")

    wyoming = commands.add_parser("wyoming", help="the Wyoming server for Home Assistant's voice pipeline: "
                                                  "speech to text, text to speech, a conversation agent")
    wyoming.add_argument("--uri", default="tcp://0.0.0.0:10300",
                         help="where to listen: tcp://HOST:PORT or unix://PATH (default tcp://0.0.0.0:10300)")
    wyoming.add_argument("--profile", default="local")
    wyoming.add_argument("--zeroconf", nargs="?", const="", default=None, metavar="NAME",
                         help="announce the server on the network (mDNS) so Home Assistant discovers it "
                              "(NAME default: nextgpt-live-HOSTNAME)")
    wyoming.add_argument("--data", type=Path, default=None, help="history folder (default: the user data folder)")

    train = commands.add_parser("train", help="train one NExT-GPT stage (1, 2 or 3) on NExT-GPT's data formats")
    train.add_argument("--stage", type=int, choices=(1, 2, 3), required=True,
                       help="1 encoder-side (X->caption), 2 decoder-side (caption->signals), 3 MosIT")
    train.add_argument("--data", type=Path, action="append", required=True, metavar="FILE",
                       help="a .json/.jsonl data file (repeatable)")
    train.add_argument("--media-root", type=Path, default=Path("."), help="folder media paths are relative to")
    train.add_argument("--out", type=Path, default=None, help="folder for the trained parameters (adapters)")
    train.add_argument("--profile", default="local")
    train.add_argument("--eval-data", type=Path, action="append", default=None, metavar="FILE",
                       help="held-out data for the eval loss (repeatable)")
    train.add_argument("--init", type=Path, default=None,
                       help="start from these adapters (an earlier stage's --out; default: the profile's)")
    train.add_argument("--resume", type=Path, default=None, help="continue this checkpoint (its optimiser and step)")
    train.add_argument("--max-steps", type=int, default=None, help="optimiser steps (default: --epochs over the data)")
    train.add_argument("--epochs", type=float, default=1.0)
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--grad-accum", type=int, default=1, help="gradient accumulation steps")
    train.add_argument("--lr", type=float, default=1e-4, help="learning rate")
    train.add_argument("--warmup-steps", type=int, default=0)
    train.add_argument("--train", default=None,
                       help="what trains, comma-separated: input_projectors, output_projectors, signal_embeddings, "
                            "lora (default: the stage's own)")
    train.add_argument("--lora-rank", type=int, default=None, help="default: the profile's lora_rank, else 32")
    train.add_argument("--lora-alpha", type=int, default=None, help="default: the profile's lora_alpha, else 32")
    train.add_argument("--lora-dropout", type=float, default=None, help="default: the profile's, else 0.1")
    train.add_argument("--mse-weight", type=float, default=1.0)
    train.add_argument("--distill-weight", type=float, default=0.0,
                       help="KL to the LLM with its LoRA off on text-only answers, so ordinary chat is kept "
                            "(needs lora among the parts trained; 0: off)")
    train.add_argument("--max-length", type=int, default=1024, help="tokens per example (longer ones are cut)")
    train.add_argument("--mixed-precision", choices=("auto", "no", "bf16", "fp16"), default="auto")
    train.add_argument("--gradient-checkpointing", action="store_true")
    train.add_argument("--eval-every", type=int, default=0)
    train.add_argument("--save-every", type=int, default=0)
    train.add_argument("--log-with", choices=("csv", "tensorboard"), default="csv")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--skip-bad", action="store_true", help="skip bad records (counted) instead of stopping")
    train.add_argument("--dry-run", action="store_true", help="validate the data; print counts per modality/direction")
    train.add_argument("--json", action="store_true")

    world = commands.add_parser("world", help="the synthetic world: generate its data, train the local models on it")
    world_actions = world.add_subparsers(dest="world_action", required=True)
    generate = world_actions.add_parser("generate", help="write the world's media and NExT-GPT records")
    generate.add_argument("--out", type=Path, required=True, help="the world folder (it is the --media-root)")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--per-kind", type=int, default=960, help="training images, sounds and videos each")
    generate.add_argument("--heldout-per-kind", type=int, default=96)
    world_train = world_actions.add_parser(
        "train", help="train the local profile's image encoder, decoders, projectors and LoRA from scratch")
    world_train.add_argument("--out", type=Path, default=None, help="where the weights go (default: resources/world)")
    world_train.add_argument("--work", type=Path, default=None,
                             help="scratch folder: the world's data, stage checkpoints (default: the cache folder)")
    world_train.add_argument("--seed", type=int, default=0)
    world_train.add_argument("--quick", action="store_true", help="minutes instead of hours; not worth shipping")
    world_train.add_argument("--keep", action="store_true",
                             help="keep the models and stages an earlier run finished in --out/--work; train the rest")
    refit = world_actions.add_parser(
        "refit", help="refit an adapters folder's output side to a new decoder (after training one anew)")
    refit.add_argument("--kind", choices=("image", "audio", "video"), required=True, help="whose decoder changed")
    refit.add_argument("--decoder", type=Path, required=True, help="the new decoder's folder (a diffusers pipeline)")
    refit.add_argument("--out", type=Path, required=True, help="where the refitted adapters go")
    refit.add_argument("--adapters", type=Path, default=None,
                       help="the adapters to refit (default: the profile's, resources/world/adapters for local)")
    refit.add_argument("--profile", default="local", help="profile name or .toml path (default: local)")
    refit.add_argument("--world", type=Path, default=None,
                       help="a world folder (default: the world of seed 0 in the user cache, generated once)")
    refit.add_argument("--work", type=Path, default=None, help="scratch folder (default: the cache folder)")
    evaluate = commands.add_parser("eval", help="score a profile on an evaluation suite, each figure beside its goal")
    evaluate.add_argument("--suite", choices=("world", "decoders"), default="world",
                          help="world: captioning, generation, modality switching and general chat on the "
                               "synthetic world's held-out split; decoders: each decoder alone, asked for every "
                               "world caption through its own text encoder")
    evaluate.add_argument("--profile", default="local", help="profile name or .toml path (default: local)")
    evaluate.add_argument("--world", type=Path, default=None,
                          help="a world folder (default: the world of seed 0 in the user cache, generated once)")
    evaluate.add_argument("--limit", type=int, default=None, metavar="N",
                          help="at most N items per figure (decoders: N captions per decoder)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    app = commands.add_parser("app", help="the desktop app (the default when no command is given)")
    app.add_argument("--profile", default=None, help="profile (default: the one in settings, else local)")
    app.add_argument("--data", type=Path, default=None, help="history folder")

    chat = commands.add_parser("chat", help="a text conversation in the terminal")
    chat.add_argument("--profile", default="local")
    chat.add_argument("--data", type=Path, default=None, help="history folder (default: the user data folder)")
    chat.add_argument("--conversation", default=None, help="go on with this conversation id (default: a new one)")
    return parser


def _train_settings(args: argparse.Namespace) -> dict:
    return {
        "parts": args.train.split(",") if args.train else None, "learning_rate": args.lr,
        "batch_size": args.batch_size, "gradient_accumulation": args.grad_accum, "max_steps": args.max_steps,
        "epochs": args.epochs, "warmup_steps": args.warmup_steps, "mse_weight": args.mse_weight,
        "distill_weight": args.distill_weight,
        "max_length": args.max_length, "mixed_precision": args.mixed_precision,
        "gradient_checkpointing": args.gradient_checkpointing, "eval_every": args.eval_every,
        "save_every": args.save_every, "log_with": args.log_with, "seed": args.seed,
        "lora_rank": args.lora_rank, "lora_alpha": args.lora_alpha, "lora_dropout": args.lora_dropout,
    }


def _has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                or os.environ.get("QT_QPA_PLATFORM") not in (None, "", "xcb", "wayland"))


def configure_logging(verbosity: int) -> None:
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbosity, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import diffusers
    import transformers

    transformers.utils.logging.set_verbosity(max(level, logging.ERROR))
    transformers.utils.logging.disable_progress_bar()
    diffusers.utils.logging.set_verbosity(max(level, logging.ERROR))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    from models import InputError

    try:
        if args.command == "ask":
            from assistant.cli.ask import AskOptions, run_ask

            return run_ask(AskOptions(args.text, args.image, args.audio, args.video, args.want, args.out,
                                      args.profile, args.json))
        if args.command == "models":
            from assistant.cli.models_command import run_models

            return run_models(args.profile, args.json)
        if args.command == "live":
            from assistant.cli.live import LiveOptions, run_live

            return run_live(LiveOptions(args.camera, args.mic, args.seconds, args.speak, args.want, args.profile,
                                        args.data, args.conversation, args.json, args.narrate, args.headphones,
                                        args.wake_word))
        if args.command == "serve":
            from assistant.cli.serve import run_serve

            return run_serve(args.broker, username=args.username, password_file=args.password_file,
                             tls_ca=args.tls_ca, tls_cert=args.tls_cert, tls_key=args.tls_key, prefix=args.prefix,
                             profile=args.profile, allow=args.allow, client_id=args.client_id,
                             share_group=args.share_group, discovery=args.discovery,
                             remove_discovery=args.remove_discovery, wyoming=args.wyoming, zeroconf=args.zeroconf,
                             data=args.data)
        if args.command == "wyoming":
            from assistant.cli.wyoming_command import run_wyoming

            return run_wyoming(args.uri, profile=args.profile, zeroconf=args.zeroconf is not None,
                               zeroconf_name=args.zeroconf or None, data=args.data)
        if args.command == "train":
            from assistant.cli.train import TrainOptions, run_train

            return run_train(TrainOptions(
                args.stage, args.data, args.media_root, args.out, args.profile, args.eval_data, args.init,
                args.resume, args.dry_run, args.skip_bad, args.json, _train_settings(args)))
        if args.command == "world":
            from assistant.cli.world_command import run_world_generate, run_world_refit, run_world_train

            if args.world_action == "train":
                return run_world_train(args.out, args.work, args.seed, args.quick, args.keep)
            if args.world_action == "refit":
                return run_world_refit(args.kind, args.decoder, args.out, args.adapters, args.profile, args.world,
                                       args.work)
            return run_world_generate(args.out, args.seed, args.per_kind, args.heldout_per_kind)
        if args.command == "eval":
            from assistant.cli.eval_command import run_eval

            return run_eval(args.suite, args.profile, args.world, args.limit, args.json)
        if args.command in (None, "app"):
            from ui.display_check import display_problem

            problem = display_problem() if _has_display() else "no display found"
            if not problem:
                from ui.app import run_app

                return run_app(getattr(args, "profile", None), getattr(args, "data", None))
            print(f"The window cannot open ({problem}): starting the conversation in the terminal instead.",
                  file=sys.stderr)
        from assistant.cli.chat import run_chat

        return run_chat(getattr(args, "profile", None) or "local", data=getattr(args, "data", None),
                        conversation=getattr(args, "conversation", None))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
